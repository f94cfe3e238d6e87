import { randomBytes } from 'node:crypto';
import { lstat, mkdir, readdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { PtqError } from '@ptq/errors';
import { ExportTargetExistsError, ExportWriteError } from './errors';

export interface WriteDirectoryOptions {
  /** Replace an existing non-empty folder (default false: refuse it). */
  readonly overwrite?: boolean;
}

type TargetState = 'absent' | 'empty' | 'full';

async function targetState(path: string): Promise<TargetState> {
  let stats: Awaited<ReturnType<typeof lstat>>;
  try {
    stats = await lstat(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'absent';
    throw new ExportWriteError(path, `cannot be examined (${(error as Error).message})`, { cause: error });
  }
  if (!stats.isDirectory()) {
    // Never delete a file the user may care about to make room for a folder.
    throw new ExportWriteError(path, 'exists and is not a folder; choose another output path');
  }
  return (await readdir(path)).length === 0 ? 'empty' : 'full';
}

function siblingName(target: string, tag: string): string {
  return join(
    dirname(target),
    `.${basename(target)}.${tag}-${process.pid}-${randomBytes(4).toString('hex')}`,
  );
}

/**
 * Makes a folder appear whole or not at all: `write` fills a fresh hidden folder beside `outDir`,
 * which is then renamed to `outDir`. An existing non-empty `outDir` is refused unless `overwrite`;
 * then it is renamed away, the new folder renamed in, and the old one deleted, so readers see the
 * old folder or the new one, never a mix. On any failure the temporary folder is removed and
 * `outDir` is left as it was.
 */
export async function writeDirectoryAtomically(
  outDir: string,
  options: WriteDirectoryOptions,
  write: (temporaryDir: string) => Promise<void>,
): Promise<void> {
  const target = resolve(outDir);
  const overwrite = options.overwrite ?? false;
  if ((await targetState(target)) === 'full' && !overwrite) {
    throw new ExportTargetExistsError(target);
  }
  await mkdir(dirname(target), { recursive: true });
  const temporary = siblingName(target, 'tmp');
  await mkdir(temporary);
  try {
    await write(temporary);
  } catch (error) {
    await rm(temporary, { recursive: true, force: true });
    throw error;
  }

  // Checked again: the folder may have appeared while we were writing.
  const state = await targetState(target).catch(async (error: unknown) => {
    await rm(temporary, { recursive: true, force: true });
    throw error;
  });
  if (state === 'full' && !overwrite) {
    await rm(temporary, { recursive: true, force: true });
    throw new ExportTargetExistsError(target);
  }
  const old = state === 'absent' ? undefined : siblingName(target, 'old');
  try {
    if (old !== undefined) await rename(target, old);
    try {
      await rename(temporary, target);
    } catch (error) {
      if (old !== undefined) await rename(old, target);
      throw error;
    }
  } catch (error) {
    await rm(temporary, { recursive: true, force: true });
    if (PtqError.isInstance(error)) throw error;
    throw new ExportWriteError(
      target,
      `cannot move the new folder into place (${(error as Error).message})`,
      {
        cause: error,
      },
    );
  }
  if (old !== undefined) await rm(old, { recursive: true, force: true });
}
