import { renameSync, rmSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { PtqError } from '@ptq/errors';
import { onTemporaryCleanup, sweepStaleTemporaries, temporarySiblingName } from '@ptq/files';
import { ExportTargetExistsError, ExportTargetProtectedError, ExportWriteError } from './errors';
import { examineOutputFolder, type OutputFolderState } from './examine-output-folder';
import { writeOutputManifest } from './output-manifest';

export interface WriteDirectoryOptions {
  /** Replace an earlier ptq output at the target (default false: refuse it). */
  readonly overwrite?: boolean;
  /** Folders the output must never replace, be inside of or contain (the model's source folder). */
  readonly protectedFolders?: readonly string[];
  /** Never replaced, nor any folder holding it (default: `process.cwd()`). */
  readonly workingFolder?: string;
}

function refuse(target: string, state: OutputFolderState, overwrite: boolean): void {
  if (state.kind === 'protected') throw new ExportTargetProtectedError(target, state.reason);
  if (state.kind === 'previous-output' && !overwrite) throw new ExportTargetExistsError(target);
}

/**
 * Makes a folder appear whole or not at all: `write` fills a fresh hidden folder beside `outDir`
 * (`.<name>.tmp-<pid>-<hex>`), a `ptq-manifest.json` listing its files is added, and it is renamed
 * to `outDir`.
 *
 * Only an absent or empty `outDir` is written, or, with `overwrite`, an earlier ptq output whose
 * files are still those its manifest lists; the working folder or one holding it, a protected
 * folder (or one inside or around it), a link, and a folder with anyone else's files are refused
 * (`ExportTargetProtectedError`) before `write` is called. A replaced folder is renamed away, the
 * new one renamed in, and the old one deleted, so readers see the old folder or the new one, never
 * a mix. On any failure the temporary folder is removed and `outDir` is left as it was; temporary
 * folders of dead processes in the same parent are swept first.
 */
export async function writeDirectoryAtomically(
  outDir: string,
  options: WriteDirectoryOptions,
  write: (temporaryDir: string) => Promise<void>,
): Promise<void> {
  const target = resolve(outDir);
  const overwrite = options.overwrite ?? false;
  const examine = () =>
    examineOutputFolder(target, {
      protectedFolders: options.protectedFolders ?? [],
      ...(options.workingFolder === undefined ? {} : { workingFolder: options.workingFolder }),
    });
  refuse(target, await examine(), overwrite);
  await mkdir(dirname(target), { recursive: true });
  await sweepStaleTemporaries(dirname(target));

  const temporary = temporarySiblingName(target, 'tmp');
  const forgetTemporary = onTemporaryCleanup(() => rmSync(temporary, { recursive: true, force: true }));
  const removeTemporary = async () => {
    await rm(temporary, { recursive: true, force: true });
    forgetTemporary();
  };
  try {
    await mkdir(temporary);
    await write(temporary);
    await writeOutputManifest(temporary);
    // Checked again: the folder may have appeared or changed while we were writing.
    const state = await examine();
    refuse(target, state, overwrite);
    await swapInto(target, temporary, state.kind !== 'absent');
  } catch (error) {
    await removeTemporary();
    throw error;
  }
  forgetTemporary();
}

async function swapInto(target: string, temporary: string, replacing: boolean): Promise<void> {
  const old = replacing ? temporarySiblingName(target, 'old') : undefined;
  // A signal between the two renames must put the old folder back, not leave no folder at all.
  const forgetRestore =
    old === undefined
      ? () => {}
      : onTemporaryCleanup(() => {
          try {
            renameSync(old, target);
          } catch {
            rmSync(old, { recursive: true, force: true });
          }
        });
  try {
    if (old !== undefined) await rename(target, old);
    try {
      await rename(temporary, target);
    } catch (error) {
      if (old !== undefined) await rename(old, target);
      throw error;
    }
  } catch (error) {
    forgetRestore();
    if (PtqError.isInstance(error)) throw error;
    throw new ExportWriteError(
      target,
      `cannot move the new folder into place (${(error as Error).message})`,
      { cause: error },
    );
  }
  forgetRestore();
  if (old !== undefined) {
    const forgetOld = onTemporaryCleanup(() => rmSync(old, { recursive: true, force: true }));
    await rm(old, { recursive: true, force: true });
    forgetOld();
  }
}
