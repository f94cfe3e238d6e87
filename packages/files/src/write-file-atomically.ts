import { rmSync } from 'node:fs';
import { type FileHandle, open, rename, rm } from 'node:fs/promises';
import { PtqError } from '@ptq/errors';
import { FileWriteError } from './file-errors';
import { onTemporaryCleanup, temporarySiblingName } from './temporary-outputs';

/** Where an atomic write failed, for a caller that words the error in its own terms. */
export interface AtomicWriteFailure {
  /** `create`: the temporary file could not be made; `write`: writing, syncing or renaming failed. */
  readonly stage: 'create' | 'write';
  /** The path the write was for. */
  readonly path: string;
  /** The temporary file beside it (already removed). */
  readonly temporaryPath: string;
  readonly cause: unknown;
}

export interface WriteFileAtomicallyOptions {
  /**
   * Turns a failure into the error to throw. Default: a `PtqError` thrown by `write` as it is,
   * anything else as a `FileWriteError` naming `path`.
   */
  readonly toError?: (failure: AtomicWriteFailure) => unknown;
}

function defaultError(failure: AtomicWriteFailure): unknown {
  if (PtqError.isInstance(failure.cause)) return failure.cause;
  return new FileWriteError(failure.path, failure.stage, failure.temporaryPath, failure.cause);
}

/**
 * Runs `write` on a fresh temporary file beside `path` (`.<name>.tmp-<pid>-<hex>`, created with
 * `wx`, so never someone else's file), fsyncs it, then renames it over `path`. Readers see the old
 * file or the whole new one, never a partial one. On any error the temporary file is removed and
 * `path` is left as it was; should the process be stopped midway, `removeTemporaryOutputs()` (run
 * by a SIGINT / SIGTERM handler) removes it.
 */
export async function writeFileAtomically(
  path: string,
  write: (handle: FileHandle) => Promise<void>,
  options: WriteFileAtomicallyOptions = {},
): Promise<void> {
  const toError = options.toError ?? defaultError;
  const temporaryPath = temporarySiblingName(path, 'tmp');
  const forgetTemporary = onTemporaryCleanup(() => rmSync(temporaryPath, { force: true }));
  let handle: FileHandle | undefined;
  try {
    handle = await open(temporaryPath, 'wx');
  } catch (cause) {
    forgetTemporary();
    throw toError({ stage: 'create', path, temporaryPath, cause });
  }
  try {
    await write(handle);
    await handle.sync();
    await handle.close();
    handle = undefined;
    await rename(temporaryPath, path);
  } catch (cause) {
    await handle?.close().catch(() => undefined);
    await rm(temporaryPath, { force: true }).catch(() => undefined);
    throw toError({ stage: 'write', path, temporaryPath, cause });
  } finally {
    forgetTemporary();
  }
}
