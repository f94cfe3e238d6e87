import { listFiles } from '@huggingface/hub';
import { compareCodePoints, listCachedRepoFiles } from './find-in-cache';
import { HubUnavailableError } from './hub-errors';
import { checkedAccessToken, type HubCallContext, toHubError, withMetadataTimeout } from './hub-request';
import { normalizeResolveOptions, type ResolveOptions, validateRepoId } from './resolve-options';

/**
 * Lists files of a repo revision (cache snapshot listing offline; hub API when online) — for patterns like `3.0.0/train-*.parquet` or sharded model files.
 * Online, a network failure throws HubUnavailableError rather than answering from the cache: a snapshot
 * holds only the files downloaded so far. Use `listCachedRepoFiles` for that listing.
 */
export async function listRepoFiles(repo: string, options: ResolveOptions = {}): Promise<string[]> {
  validateRepoId(repo);
  const normalized = normalizeResolveOptions(options);
  const { revision, repoType, cacheDir } = normalized;
  if (!normalized.offline) {
    const context: HubCallContext = { repo, revision, missing: [], options: normalized };
    try {
      const files: string[] = [];
      for await (const entry of listFiles({
        repo: { type: repoType, name: repo },
        recursive: true,
        revision,
        hubUrl: normalized.endpoint,
        fetch: withMetadataTimeout(normalized.fetch),
        accessToken: checkedAccessToken(normalized),
      })) {
        if (entry.type === 'file') files.push(entry.path);
      }
      return files.sort(compareCodePoints);
    } catch (error) {
      throw toHubError(error, context);
    }
  }
  const cached = await listCachedRepoFiles(repo, options);
  if (cached === undefined) {
    throw new HubUnavailableError(
      repo,
      [],
      'offline',
      `${repo}@${revision} (${repoType}): not in the Hugging Face cache (${cacheDir}) and offline mode is on (HF_HUB_OFFLINE or options.offline)`,
    );
  }
  return cached;
}
