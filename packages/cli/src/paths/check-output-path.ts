import { lstat, mkdtemp, rmdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { OutputPathError } from '../cli-errors';

export interface CheckedOutputPath {
  /** Absolute path of the folder to write. */
  readonly path: string;
  /** Whether a folder is there now (allowed only with `force`). */
  readonly exists: boolean;
}

export interface CheckOutputPathOptions {
  /** `--force`: replace an empty folder or an earlier ptq output. */
  readonly force: boolean;
  /** Folders `--out` must not be, be inside of or contain (the `--model` folder). */
  readonly protectedFolders?: readonly string[];
}

/**
 * Checks `--out` before any work starts, so a bad path fails in a second rather than after a long
 * calibration. The target must not exist, except as an empty folder or an earlier ptq output (its
 * `ptq-manifest.json` still matching), and then only with `force`; the working folder or one
 * holding it, a protected folder (or one inside or around it), a link and a folder holding other
 * files are refused, force or not (the same rules as `@ptq/export`'s `overwrite`). Its parent must
 * be an existing folder this process can create entries in. Writability is tested by creating and
 * removing an empty folder there, which also catches read-only file systems and root's permission
 * bypass that `access(W_OK)` misses.
 */
export async function checkOutputPath(
  out: string,
  options: CheckOutputPathOptions,
): Promise<CheckedOutputPath> {
  const target = path.resolve(out);
  // Paths in messages are written the way the user wrote --out (relative stays relative).
  const shown = (file: string) => (path.isAbsolute(out) ? file : path.relative(process.cwd(), file) || '.');
  const existing = await statOrError(target, lstat);
  let exists = false;
  if (existing.stats !== undefined) {
    // Loaded only here: `ptq --help` and flag errors load no model code.
    const { examineOutputFolder } = await import('@ptq/export');
    const state = await examineOutputFolder(target, { protectedFolders: options.protectedFolders ?? [] });
    if (state.kind === 'protected') throw new OutputPathError(out, `${state.reason}; choose another path`);
    if (!options.force) {
      throw new OutputPathError(
        out,
        state.kind === 'previous-output'
          ? 'already holds an earlier ptq output; pass --force to replace it'
          : 'already exists; pass --force to replace it',
      );
    }
    exists = true;
  } else if (existing.code === 'ENOTDIR') {
    throw new OutputPathError(
      out,
      `a file is in the way: ${shown(await firstFileOnPath(target))} is not a folder`,
    );
  } else if (existing.code !== 'ENOENT') {
    throw new OutputPathError(out, `cannot be checked (${existing.code})`);
  }

  const parent = path.dirname(target);
  const parentStats = await statOrError(parent);
  if (parentStats.stats === undefined) {
    throw new OutputPathError(out, `its parent folder ${shown(parent)} does not exist`);
  }
  if (!parentStats.stats.isDirectory()) {
    throw new OutputPathError(out, `a file is in the way: ${shown(parent)} is not a folder`);
  }
  let probe: string;
  try {
    probe = await mkdtemp(path.join(parent, '.ptq-write-check-'));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unknown error';
    throw new OutputPathError(out, `its parent folder ${shown(parent)} is not writable (${code})`, {
      cause: error,
    });
  }
  await rmdir(probe);
  return { path: target, exists };
}

async function statOrError(
  file: string,
  examine: typeof stat = stat,
): Promise<{ stats: Awaited<ReturnType<typeof stat>> | undefined; code: string | undefined }> {
  try {
    return { stats: await examine(file), code: undefined };
  } catch (error) {
    return { stats: undefined, code: (error as NodeJS.ErrnoException).code };
  }
}

/** The first existing non-folder on the way to `target` (the file that makes it unreachable). */
async function firstFileOnPath(target: string): Promise<string> {
  const parts = target.split(path.sep);
  for (let length = 2; length <= parts.length; length++) {
    const prefix = parts.slice(0, length).join(path.sep) || path.sep;
    const { stats } = await statOrError(prefix);
    if (stats !== undefined && !stats.isDirectory()) return prefix;
  }
  return path.dirname(target);
}
