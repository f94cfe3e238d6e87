import { HubApiError } from '@huggingface/hub';
import { InvalidArgumentError, PtqError } from '@ptq/errors';
import { HubFileNotFoundError, HubRequestError, HubUnavailableError } from './hub-errors';
import type { NormalizedResolveOptions } from './resolve-options';

/** Metadata calls are small; a silent firewall must not stall a fallback for minutes. */
const METADATA_TIMEOUT_MS = 30_000;

/**
 * Wraps fetch so that metadata requests (`/api/…`, HEAD, the `Range: bytes=0-0` probe) time out.
 * File bodies are left alone: a large download may legitimately take long.
 */
export function withMetadataTimeout(fetchFunction: typeof fetch): typeof fetch {
  const wrapped: typeof fetch = (input, init) => {
    if (init?.signal || !isMetadataRequest(input, init)) return fetchFunction(input, init);
    return fetchFunction(input, { ...init, signal: AbortSignal.timeout(METADATA_TIMEOUT_MS) });
  };
  return wrapped;
}

function isMetadataRequest(input: Parameters<typeof fetch>[0], init: RequestInit | undefined): boolean {
  const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
  const method = (init?.method ?? 'GET').toUpperCase();
  const range = new Headers(init?.headers).get('range');
  return new URL(url).pathname.startsWith('/api/') || method === 'HEAD' || range === 'bytes=0-0';
}

/** The token the hub library will accept, checked only when the network is about to be used. */
export function checkedAccessToken(options: NormalizedResolveOptions): string | undefined {
  const token = options.accessToken;
  if (token !== undefined && !token.startsWith('hf_')) {
    throw new InvalidArgumentError(
      'accessToken',
      'a Hugging Face token (option or HF_TOKEN) starts with "hf_"',
    );
  }
  return token;
}

/** What a failed hub call was about, for the error message. */
export interface HubCallContext {
  repo: string;
  revision: string;
  /** The file being fetched, when the call was about one file. */
  path?: string;
  /** Files still missing from the cache when the call failed. */
  missing: readonly string[];
  options: NormalizedResolveOptions;
}

/** One line naming what went wrong on the network (`fetch failed (ECONNREFUSED)`, `timed out`). */
export function describeNetworkError(error: unknown): string {
  if (error instanceof Error) {
    if (error.name === 'TimeoutError') return `no answer within ${METADATA_TIMEOUT_MS / 1000} s`;
    const cause = (error as { cause?: unknown }).cause;
    const code =
      typeof cause === 'object' && cause !== null
        ? (cause as { code?: unknown }).code
        : (error as { code?: unknown }).code;
    return typeof code === 'string' ? `${error.message} (${code})` : error.message;
  }
  return String(error);
}

/** The reason a repo or revision lookup failed, read from the hub's JSON error body when there is one. */
function hubMessage(error: HubApiError): string {
  const data = error.data as { error?: unknown } | undefined;
  return typeof data?.error === 'string' ? data.error : `HTTP ${error.statusCode}`;
}

/** Turns anything a hub call threw into a typed ptq error. Errors already typed pass through. */
export function toHubError(error: unknown, context: HubCallContext): PtqError {
  if (PtqError.isInstance(error)) return error;
  const { repo, revision, path, options } = context;
  const where = `${repo}@${revision} (${options.repoType}) at ${options.endpoint}`;
  if (error instanceof HubApiError) {
    const status = error.statusCode;
    if (status === 404 || status === 401) {
      const subject = path === undefined ? `the repository or revision` : `file "${path}"`;
      const hint = status === 401 ? ' (or it is private or gated: set HF_TOKEN)' : '';
      return new HubFileNotFoundError(
        repo,
        revision,
        path,
        `${where}: ${subject} was not found on the hub${hint}: ${hubMessage(error)}`,
        { cause: error },
      );
    }
    if (status === 429 || status >= 500) {
      return unavailable(context, `the hub at ${options.endpoint} answered HTTP ${status}`, error);
    }
    return new HubRequestError(
      error.url,
      status,
      `${where}: the hub refused the request with HTTP ${status}: ${hubMessage(error)}`,
      { cause: error },
    );
  }
  return unavailable(
    context,
    `the hub at ${options.endpoint} is unreachable: ${describeNetworkError(error)}`,
    error,
  );
}

function unavailable(context: HubCallContext, reason: string, cause: unknown): HubUnavailableError {
  const { repo, revision, missing, options } = context;
  return new HubUnavailableError(
    repo,
    missing,
    'unreachable',
    missing.length === 0
      ? `${repo}@${revision} (${options.repoType}): ${reason}`
      : `${repo}@${revision} (${options.repoType}): ${formatMissing(missing)} not in the Hugging Face cache (${options.cacheDir}) and ${reason}`,
    { cause },
  );
}

/** `"a", "b" are` / `"a" is` — for messages listing missing files. */
export function formatMissing(missing: readonly string[]): string {
  const shown = missing.slice(0, 5).map((path) => `"${path}"`);
  const more = missing.length > 5 ? ` and ${missing.length - 5} more` : '';
  return `${shown.join(', ')}${more} ${missing.length === 1 ? 'is' : 'are'}`;
}
