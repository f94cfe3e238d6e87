import { randomBytes } from 'node:crypto';
import { type FileHandle, open, rename, rm } from 'node:fs/promises';
import { basename } from 'node:path';
import { wrapIoError } from './safetensors-errors';

/**
 * Runs `write` on a fresh temporary file beside `path` (`<path>.tmp-<random>`), fsyncs it, then
 * renames it over `path`. Readers see the old file or the whole new one, never a partial one; on
 * any error the temporary file is removed and `path` is left as it was.
 */
export async function writeFileAtomically(
  path: string,
  write: (handle: FileHandle) => Promise<void>,
): Promise<void> {
  const temporaryPath = `${path}.tmp-${randomBytes(6).toString('hex')}`;
  let handle: FileHandle | undefined;
  try {
    // 'wx' fails rather than write into a file someone else created under the same name.
    handle = await open(temporaryPath, 'wx');
  } catch (error) {
    throw wrapIoError(path, `cannot create the temporary file ${basename(temporaryPath)}`, error);
  }
  try {
    await write(handle);
    await handle.sync();
    await handle.close();
    handle = undefined;
    await rename(temporaryPath, path);
  } catch (error) {
    await handle?.close().catch(() => undefined);
    await rm(temporaryPath, { force: true }).catch(() => undefined);
    throw wrapIoError(path, 'cannot write', error);
  }
}
