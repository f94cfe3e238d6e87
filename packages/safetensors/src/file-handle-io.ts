import type { FileHandle } from 'node:fs/promises';
import { SafetensorsFormatError } from './safetensors-errors';

/** One read or write call moves at most this much; the OS caps single transfers near 2 GiB. */
const MAX_TRANSFER_BYTES = 1 << 30;

/**
 * Fills `target` from `position` on, looping over short reads. Hitting the end of the file first
 * means it shrank after it was validated.
 */
export async function readExactly(
  handle: FileHandle,
  file: string,
  target: Uint8Array,
  position: number,
): Promise<void> {
  let done = 0;
  while (done < target.byteLength) {
    const length = Math.min(target.byteLength - done, MAX_TRANSFER_BYTES);
    const { bytesRead } = await handle.read(target, done, length, position + done);
    if (bytesRead === 0) {
      throw new SafetensorsFormatError(
        file,
        `file ended at byte ${position + done} while reading ${target.byteLength} bytes at offset ${position} (was it truncated after opening?)`,
      );
    }
    done += bytesRead;
  }
}

/** Writes all of `bytes` at the handle's current position, looping over short writes. */
export async function writeFully(handle: FileHandle, bytes: Uint8Array): Promise<void> {
  let done = 0;
  while (done < bytes.byteLength) {
    const length = Math.min(bytes.byteLength - done, MAX_TRANSFER_BYTES);
    const { bytesWritten } = await handle.write(bytes, done, length);
    done += bytesWritten;
  }
}

/** Writes all of `bytes` at `position`, looping over short writes; the handle's own position is not used. */
export async function writeFullyAt(handle: FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < bytes.byteLength) {
    const length = Math.min(bytes.byteLength - done, MAX_TRANSFER_BYTES);
    const { bytesWritten } = await handle.write(bytes, done, length, position + done);
    done += bytesWritten;
  }
}
