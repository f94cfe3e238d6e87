export { findInCache, listCachedRepoFiles } from './find-in-cache';
export { hubCacheDir } from './hub-cache-dir';
export {
  HubFileNotFoundError,
  HubRequestError,
  HubUnavailableError,
  type HubUnavailableReason,
} from './hub-errors';
export { listRepoFiles } from './list-repo-files';
export { type ResolvedHubFiles, resolveHubFiles } from './resolve-hub-files';
export { type HubRepoType, hubEndpoint, isHubOffline, type ResolveOptions } from './resolve-options';
