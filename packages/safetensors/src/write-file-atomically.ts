import type { FileHandle } from 'node:fs/promises';
import { basename } from 'node:path';
import { writeFileAtomically as writeFileAtomicallyShared } from '@ptq/files';
import { wrapIoError } from './safetensors-errors';

/**
 * `@ptq/files`' atomic write with failures worded as `SafetensorsIoError`s naming `path`: the
 * temporary file beside it is removed and `path` is left as it was.
 */
export function writeFileAtomically(
  path: string,
  write: (handle: FileHandle) => Promise<void>,
): Promise<void> {
  return writeFileAtomicallyShared(path, write, {
    toError: ({ stage, temporaryPath, cause }) =>
      stage === 'create'
        ? wrapIoError(path, `cannot create the temporary file ${basename(temporaryPath)}`, cause)
        : wrapIoError(path, 'cannot write', cause),
  });
}
