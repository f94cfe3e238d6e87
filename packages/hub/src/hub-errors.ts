import { PtqError, type PtqErrorOptions } from '@ptq/errors';

/** Why files could not be fetched: offline mode is on, or the hub did not answer. */
export type HubUnavailableReason = 'offline' | 'unreachable';

/**
 * Files are missing from the Hugging Face cache and cannot be downloaded, because offline mode is on
 * or the hub cannot be reached. Callers with a fallback (a bundled sample) catch this one.
 */
export class HubUnavailableError extends PtqError {
  readonly repo: string;
  readonly missing: readonly string[];
  readonly reason: HubUnavailableReason;

  constructor(
    repo: string,
    missing: readonly string[],
    reason: HubUnavailableReason,
    message: string,
    options: PtqErrorOptions = {},
  ) {
    super('PTQ_HUB_UNAVAILABLE', message, options);
    this.repo = repo;
    this.missing = [...missing];
    this.reason = reason;
  }
}

/** The hub answered that a repository, revision or file does not exist (HTTP 404, or 401 for a repo). */
export class HubFileNotFoundError extends PtqError {
  readonly repo: string;
  readonly revision: string;
  /** The missing file, or undefined when the repository or revision itself is missing. */
  readonly path: string | undefined;

  constructor(
    repo: string,
    revision: string,
    path: string | undefined,
    message: string,
    options: PtqErrorOptions = {},
  ) {
    super('PTQ_HUB_NOT_FOUND', message, options);
    this.repo = repo;
    this.revision = revision;
    this.path = path;
  }
}

/** The hub refused a request for another reason (403 gated repository, 400, …). */
export class HubRequestError extends PtqError {
  readonly url: string;
  readonly status: number;

  constructor(url: string, status: number, message: string, options: PtqErrorOptions = {}) {
    super('PTQ_HUB_REQUEST', message, options);
    this.url = url;
    this.status = status;
  }
}
