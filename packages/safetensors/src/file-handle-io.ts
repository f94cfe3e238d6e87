import type { FileHandle } from 'node:fs/promises';
import { SafetensorsFormatError } from './safetensors-errors';

/** One read or write call moves at most this much; the OS caps single transfers near 2 GiB. */
const MAX_TRANSFER_BYTES = 1 << 30;

/** A read at least this long is split into parts that the thread pool reads at once. */
const PARALLEL_READ_BYTES = 16 * 2 ** 20;
/** Parts of a long read in flight together (libuv's thread pool runs four by default). */
const PARALLEL_READ_PARTS = 4;

/**
 * Fills `target` from `position` on, looping over short reads. Hitting the end of the file first
 * means it shrank after it was validated. A long read runs as a few parts at once: paging in the
 * target's fresh memory, which dominates reading a file the OS has cached, then proceeds on several
 * cores.
 */
export async function readExactly(
  handle: FileHandle,
  file: string,
  target: Uint8Array,
  position: number,
): Promise<void> {
  const length = target.byteLength;
  if (length < PARALLEL_READ_BYTES) {
    await readPart(handle, file, target, position, 0, length);
    return;
  }
  // Parts start on 4 KiB boundaries of the target, so no two share a page.
  const part = Math.ceil(length / PARALLEL_READ_PARTS / 4096) * 4096;
  const parts: Promise<void>[] = [];
  for (let start = 0; start < length; start += part) {
    parts.push(readPart(handle, file, target, position, start, Math.min(length, start + part)));
  }
  // The first part that failed names the byte where the file really ended (later parts start beyond).
  const failed = (await Promise.allSettled(parts)).find((result) => result.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
}

/** Fills `target[start, end)` from the file's `position + start` on, looping over short reads. */
async function readPart(
  handle: FileHandle,
  file: string,
  target: Uint8Array,
  position: number,
  start: number,
  end: number,
): Promise<void> {
  let done = start;
  while (done < end) {
    const length = Math.min(end - done, MAX_TRANSFER_BYTES);
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
