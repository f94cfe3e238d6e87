import { InvalidArgumentError } from '@ptq/errors';
import { hubCacheDir } from './hub-cache-dir';

export type HubRepoType = 'model' | 'dataset';

export interface ResolveOptions {
  /** @default 'model' */
  repoType?: HubRepoType;
  /** Branch, tag or 40-hex commit. @default 'main' */
  revision?: string;
  /** @default hubCacheDir() */
  cacheDir?: string;
  /** @default HF_ENDPOINT or https://huggingface.co */
  endpoint?: string;
  /** Never touch the network. @default true when HF_HUB_OFFLINE is 1/true/yes/on */
  offline?: boolean;
  /** @default HF_TOKEN, sent only to the hub endpoint */
  accessToken?: string;
  fetch?: typeof fetch;
  /** Receives one line per download or fallback, for a CLI to print. */
  onNotice?: (message: string) => void;
}

export const DEFAULT_ENDPOINT = 'https://huggingface.co';

/** The hub endpoint from `HF_ENDPOINT`, without a trailing slash. */
export function hubEndpoint(env: NodeJS.ProcessEnv = process.env): string {
  const value = env.HF_ENDPOINT;
  return trimTrailingSlashes(value === undefined || value === '' ? DEFAULT_ENDPOINT : value);
}

/** Whether `HF_HUB_OFFLINE` asks for offline mode (the values Python `huggingface_hub` accepts). */
export function isHubOffline(env: NodeJS.ProcessEnv = process.env): boolean {
  return ['1', 'on', 'yes', 'true'].includes((env.HF_HUB_OFFLINE ?? '').trim().toLowerCase());
}

function trimTrailingSlashes(url: string): string {
  return url.replace(/\/+$/, '');
}

/** Options with every default filled in. */
export interface NormalizedResolveOptions {
  repoType: HubRepoType;
  revision: string;
  cacheDir: string;
  endpoint: string;
  offline: boolean;
  accessToken: string | undefined;
  fetch: typeof fetch;
  onNotice: (message: string) => void;
}

export function normalizeResolveOptions(options: ResolveOptions = {}): NormalizedResolveOptions {
  const repoType = options.repoType ?? 'model';
  if (repoType !== 'model' && repoType !== 'dataset') {
    throw new InvalidArgumentError(
      'repoType',
      `must be "model" or "dataset", got ${JSON.stringify(repoType)}`,
    );
  }
  const revision = options.revision ?? 'main';
  validateRevision(revision);
  const endpoint = trimTrailingSlashes(options.endpoint ?? hubEndpoint());
  if (!/^https?:\/\/[^/]/.test(endpoint)) {
    throw new InvalidArgumentError('endpoint', `must be an http(s) URL, got ${JSON.stringify(endpoint)}`);
  }
  const token = options.accessToken ?? process.env.HF_TOKEN;
  return {
    repoType,
    revision,
    cacheDir: options.cacheDir ?? hubCacheDir(),
    endpoint,
    offline: options.offline ?? isHubOffline(),
    accessToken: token === '' ? undefined : token,
    fetch: options.fetch ?? globalThis.fetch,
    onNotice: options.onNotice ?? (() => {}),
  };
}

const REPO_NAME_PART = /^[A-Za-z0-9_.-]{1,96}$/;

/** Hub rules: `name` or `owner/name`; letters, digits, `_ . -`; no `--` or `..`; no leading or trailing `-`/`.`. */
export function validateRepoId(repo: string): void {
  const parts = repo.split('/');
  const valid =
    parts.length <= 2 &&
    parts.every(
      (part) =>
        REPO_NAME_PART.test(part) &&
        !part.includes('--') &&
        !part.includes('..') &&
        !/^[-.]|[-.]$/.test(part),
    );
  if (!valid) {
    throw new InvalidArgumentError(
      'repo',
      `${JSON.stringify(repo)} is not a hub repo id ("name" or "owner/name" of letters, digits, "_", "." and "-")`,
    );
  }
}

/** A revision names a file under `refs/`, so it must not escape that folder. */
export function validateRevision(revision: string): void {
  if (typeof revision !== 'string' || revision === '' || !isSafeRelativePath(revision)) {
    throw new InvalidArgumentError('revision', `${JSON.stringify(revision)} is not a branch, tag or commit`);
  }
}

/** Repo file paths are joined onto cache folders: reject absolute paths and `..` segments. */
export function validateRepoPaths(paths: readonly string[]): void {
  if (!Array.isArray(paths)) {
    throw new InvalidArgumentError('paths', 'must be an array of file paths inside the repo');
  }
  for (const path of paths) {
    if (typeof path !== 'string' || path === '' || !isSafeRelativePath(path) || path.endsWith('/')) {
      throw new InvalidArgumentError(
        'paths',
        `${JSON.stringify(path)} is not a relative file path inside the repo (no leading "/", no ".." segments)`,
      );
    }
  }
}

function isSafeRelativePath(path: string): boolean {
  const segments = path.replace(/\\/g, '/').split('/');
  return (
    !path.startsWith('/') &&
    !path.startsWith('\\') &&
    !/^[A-Za-z]:/.test(path) &&
    !segments.includes('..') &&
    !segments.includes('.') &&
    !segments.slice(0, -1).includes('') &&
    !path.includes('\0')
  );
}

/** The cache folder of a repo: `models--owner--name` or `datasets--owner--name`. */
export function repoFolderName(repo: string, repoType: HubRepoType): string {
  return [`${repoType}s`, ...repo.split('/')].join('--');
}

export const COMMIT_HASH = /^[0-9a-f]{40}$/;
