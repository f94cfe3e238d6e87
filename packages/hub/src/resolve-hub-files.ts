import { datasetInfo, modelInfo, pathsInfo } from '@huggingface/hub';
import { downloadToCache, writeRef } from './download-to-cache';
import { findInSnapshot, readCachedCommit, repoStorageFolder } from './find-in-cache';
import { HubFileNotFoundError, HubUnavailableError } from './hub-errors';
import {
  checkedAccessToken,
  formatMissing,
  type HubCallContext,
  toHubError,
  withMetadataTimeout,
} from './hub-request';
import {
  COMMIT_HASH,
  type NormalizedResolveOptions,
  normalizeResolveOptions,
  type ResolveOptions,
  validateRepoId,
  validateRepoPaths,
} from './resolve-options';

export interface ResolvedHubFiles {
  /** Absolute paths, in the order asked for. */
  paths: string[];
  /** `hf-cache` when no byte was downloaded. */
  source: 'hf-cache' | 'download';
}

/** Cache first, then download (through @huggingface/hub, into the same cache layout) what is missing; throws HubUnavailableError (typed) when offline/unreachable and files are missing, HubFileNotFoundError for a 404. */
export async function resolveHubFiles(
  repo: string,
  paths: string[],
  options: ResolveOptions = {},
): Promise<ResolvedHubFiles> {
  validateRepoId(repo);
  validateRepoPaths(paths);
  const normalized = normalizeResolveOptions(options);
  const { revision } = normalized;
  const storageFolder = repoStorageFolder(repo, normalized);
  const cachedCommit = await readCachedCommit(storageFolder, revision);
  if (cachedCommit !== undefined) {
    const cached = await findInSnapshot(storageFolder, cachedCommit, paths);
    if (cached.every((path) => path !== undefined)) return { paths: cached as string[], source: 'hf-cache' };
    if (normalized.offline) throw offlineError(repo, paths, cached, normalized);
  } else if (normalized.offline) {
    throw offlineError(
      repo,
      paths,
      paths.map(() => undefined),
      normalized,
    );
  }
  return download(repo, paths, normalized, storageFolder);
}

function offlineError(
  repo: string,
  paths: readonly string[],
  cached: readonly (string | undefined)[],
  options: NormalizedResolveOptions,
): HubUnavailableError {
  const missing = paths.filter((_, index) => cached[index] === undefined);
  return new HubUnavailableError(
    repo,
    missing,
    'offline',
    `${repo}@${options.revision} (${options.repoType}): ${formatMissing(missing)} not in the Hugging Face cache (${options.cacheDir}) and offline mode is on (HF_HUB_OFFLINE or options.offline)`,
  );
}

async function download(
  repo: string,
  paths: readonly string[],
  options: NormalizedResolveOptions,
  storageFolder: string,
): Promise<ResolvedHubFiles> {
  const fetchFunction = withMetadataTimeout(options.fetch);
  const accessToken = checkedAccessToken(options);
  const context: HubCallContext = { repo, revision: options.revision, missing: [...paths], options };

  // Every file of one resolve lands in one snapshot: the commit the revision points to now.
  const commit = await resolveCommit(repo, options, fetchFunction, accessToken).catch((error: unknown) => {
    throw toHubError(error, context);
  });
  const inSnapshot = await findInSnapshot(storageFolder, commit, paths);
  const missing = paths.filter((_, index) => inSnapshot[index] === undefined);
  context.missing = missing;

  let downloadedAny = false;
  if (missing.length > 0) {
    const infos = await pathsInfo({
      repo: { type: options.repoType, name: repo },
      paths: missing,
      revision: commit,
      hubUrl: options.endpoint,
      fetch: fetchFunction,
      accessToken,
    }).catch((error: unknown) => {
      throw toHubError(error, context);
    });
    // Check every file exists before downloading any, so a typo costs no download.
    const found = missing.map((path) => {
      const info = infos.find((entry) => entry.path === path && entry.type === 'file');
      if (info === undefined) {
        throw new HubFileNotFoundError(
          repo,
          options.revision,
          path,
          `${repo}@${options.revision} (${options.repoType}) at ${options.endpoint}: file "${path}" was not found on the hub`,
        );
      }
      return { path, info };
    });
    for (const { path, info } of found) {
      const result = await downloadToCache({
        repo,
        path,
        commit,
        info,
        storageFolder,
        options,
        fetch: fetchFunction,
        accessToken,
      }).catch((error: unknown) => {
        if (isFileSystemError(error)) throw error;
        throw toHubError(error, { ...context, path });
      });
      inSnapshot[paths.indexOf(path)] = result.path;
      downloadedAny ||= result.downloaded;
    }
  }
  if (options.revision !== commit) await writeRef(storageFolder, options.revision, commit);
  return { paths: inSnapshot as string[], source: downloadedAny ? 'download' : 'hf-cache' };
}

/** The commit a branch or tag points to now (`/api/{models|datasets}/{repo}/revision/{revision}`). */
async function resolveCommit(
  repo: string,
  options: NormalizedResolveOptions,
  fetchFunction: typeof fetch,
  accessToken: string | undefined,
): Promise<string> {
  if (COMMIT_HASH.test(options.revision)) return options.revision;
  const request = {
    name: repo,
    revision: options.revision,
    hubUrl: options.endpoint,
    fetch: fetchFunction,
    accessToken,
    additionalFields: ['sha' as const],
  };
  const info = options.repoType === 'dataset' ? await datasetInfo(request) : await modelInfo(request);
  const sha: unknown = info.sha;
  if (typeof sha !== 'string' || !COMMIT_HASH.test(sha)) {
    throw new Error(
      `the hub gave no commit hash for revision "${options.revision}" (got ${JSON.stringify(sha)})`,
    );
  }
  return sha;
}

/** Disk errors (full disk, permissions) are not network trouble and must surface as they are. */
function isFileSystemError(error: unknown): boolean {
  return error instanceof Error && typeof (error as { syscall?: unknown }).syscall === 'string';
}
