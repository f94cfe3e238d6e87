import { constants, type Stats } from 'node:fs';
import { type FileHandle, open, stat } from 'node:fs/promises';
import { FileTooLargeError, NotARegularFileError } from './file-errors';

export interface RegularFileOptions {
  /** Largest size accepted, in bytes. */
  readonly maxBytes: number;
  /** What the file is, for the size error ("a dataset file", "config.json"). */
  readonly what?: string;
}

function kindOf(stats: Stats): string {
  if (stats.isDirectory()) return 'folder';
  if (stats.isFIFO()) return 'FIFO';
  if (stats.isSocket()) return 'socket';
  if (stats.isCharacterDevice()) return 'character device';
  if (stats.isBlockDevice()) return 'block device';
  return 'special file';
}

function checkStats(path: string, stats: Stats, options: RegularFileOptions): void {
  if (!stats.isFile()) throw new NotARegularFileError(path, kindOf(stats));
  if (stats.size > options.maxBytes) {
    throw new FileTooLargeError(path, stats.size, options.maxBytes, options.what ?? 'it');
  }
}

/**
 * Opens a regular file for reading after checking, before opening, that it is one (opening a FIFO
 * blocks until a writer comes; a link to /dev/zero never ends) and that it fits `maxBytes`. The
 * handle's own stats are checked again, in case the path changed in between.
 */
export async function openRegularFile(
  path: string,
  options: RegularFileOptions,
): Promise<{ handle: FileHandle; size: number }> {
  checkStats(path, await stat(path), options);
  // O_NONBLOCK: should the path become a FIFO after the check, open returns instead of waiting for
  // a writer; the handle's stats below then refuse it. It changes nothing for regular files.
  const handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const stats = await handle.stat();
    checkStats(path, stats, options);
    return { handle, size: stats.size };
  } catch (error) {
    await handle.close();
    throw error;
  }
}

/** The whole content of a regular file of at most `maxBytes`. */
export async function readRegularFile(path: string, options: RegularFileOptions): Promise<Buffer> {
  const { handle, size } = await openRegularFile(path, options);
  try {
    const buffer = Buffer.alloc(size);
    let filled = 0;
    while (filled < size) {
      const { bytesRead } = await handle.read(buffer, filled, size - filled, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return filled === size ? buffer : buffer.subarray(0, filled);
  } finally {
    await handle.close();
  }
}
