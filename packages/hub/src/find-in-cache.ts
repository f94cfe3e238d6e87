import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  COMMIT_HASH,
  type NormalizedResolveOptions,
  normalizeResolveOptions,
  type ResolveOptions,
  repoFolderName,
  validateRepoId,
  validateRepoPaths,
} from './resolve-options';

/** `<cacheDir>/models--owner--name` (or `datasets--…`). */
export function repoStorageFolder(repo: string, options: NormalizedResolveOptions): string {
  return join(options.cacheDir, repoFolderName(repo, options.repoType));
}

/**
 * The commit a revision points to in the cache: `refs/<revision>` when present, else the revision
 * itself when it already is a commit hash. Undefined when the cache knows nothing of it.
 */
export async function readCachedCommit(storageFolder: string, revision: string): Promise<string | undefined> {
  try {
    const commit = (await readFile(join(storageFolder, 'refs', revision), 'utf8')).trim();
    if (COMMIT_HASH.test(commit)) return commit;
  } catch {
    // No ref for this revision: fall through to the commit-hash case.
  }
  return COMMIT_HASH.test(revision) ? revision : undefined;
}

async function isFile(path: string): Promise<boolean> {
  try {
    // stat follows the snapshot symlink to its blob; a dangling link counts as missing.
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/** Finds `paths` of repo in the cache (refs/<revision> → snapshots/<commit>/<path>); returns absolute paths or undefined for each missing one. No network. */
export async function findInCache(
  repo: string,
  paths: string[],
  options: ResolveOptions = {},
): Promise<(string | undefined)[]> {
  validateRepoId(repo);
  validateRepoPaths(paths);
  const normalized = normalizeResolveOptions(options);
  const storageFolder = repoStorageFolder(repo, normalized);
  const commit = await readCachedCommit(storageFolder, normalized.revision);
  if (commit === undefined) return paths.map(() => undefined);
  return findInSnapshot(storageFolder, commit, paths);
}

/** Absolute snapshot paths of `paths` under `snapshots/<commit>`, undefined where missing. */
export async function findInSnapshot(
  storageFolder: string,
  commit: string,
  paths: readonly string[],
): Promise<(string | undefined)[]> {
  const snapshot = join(storageFolder, 'snapshots', commit);
  return Promise.all(
    paths.map(async (path) => {
      const absolute = join(snapshot, ...path.split('/'));
      return (await isFile(absolute)) ? absolute : undefined;
    }),
  );
}

/**
 * Files of the cached snapshot of a revision, as sorted `/`-separated repo paths; undefined when the
 * revision is not in the cache. A snapshot holds only the files that were downloaded, not the whole repo.
 */
export async function listCachedRepoFiles(
  repo: string,
  options: ResolveOptions = {},
): Promise<string[] | undefined> {
  validateRepoId(repo);
  const normalized = normalizeResolveOptions(options);
  const storageFolder = repoStorageFolder(repo, normalized);
  const commit = await readCachedCommit(storageFolder, normalized.revision);
  if (commit === undefined) return undefined;
  const snapshot = join(storageFolder, 'snapshots', commit);
  try {
    if (!(await stat(snapshot)).isDirectory()) return undefined;
  } catch {
    return undefined;
  }
  const files: string[] = [];
  await collectFiles(snapshot, '', files);
  return files.sort(compareCodePoints);
}

async function collectFiles(folder: string, prefix: string, files: string[]): Promise<void> {
  const entries = await readdir(folder, { withFileTypes: true });
  for (const entry of entries) {
    const absolute = join(folder, entry.name);
    const relative = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
    if (entry.isDirectory()) {
      await collectFiles(absolute, relative, files);
    } else if (entry.isFile() || (entry.isSymbolicLink() && (await isFile(absolute)))) {
      files.push(relative);
    }
  }
}

/** Locale-independent ordering, so listings sort the same on every machine. */
export function compareCodePoints(left: string, right: string): number {
  return left < right ? -1 : left > right ? 1 : 0;
}
