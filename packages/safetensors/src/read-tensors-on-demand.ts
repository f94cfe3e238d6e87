import { closeSync, fstatSync, openSync, readSync, type Stats, statSync } from 'node:fs';
import type { CheckpointTensorInfo, SafetensorsCheckpoint } from './open-safetensors-checkpoint';
import { SafetensorsChangedError, SafetensorsFormatError, wrapIoError } from './safetensors-errors';

/** One read call moves at most this much; the OS caps single transfers near 2 GiB. */
const MAX_TRANSFER_BYTES = 1 << 30;

/** Reads a checkpoint's tensors synchronously, whenever asked, long after it was opened. */
export interface OnDemandTensorReader {
  /** Fills `target` (exactly the tensor's length) with the tensor's raw little-endian bytes. */
  readInto(info: CheckpointTensorInfo, target: Uint8Array): void;
}

interface FileIdentity {
  readonly dev: number;
  readonly ino: number;
  readonly size: number;
  readonly mtimeMs: number;
}

/**
 * A reader for the tensors of an open checkpoint that opens the tensor's file for each read (a
 * positioned read, nothing else of the file) and holds no descriptor between reads, so a model may
 * read its weights when a step needs them and be dropped without closing anything. Each shard's
 * identity (device, inode, size, modification time) is taken now; a read from a file that differs
 * throws `SafetensorsChangedError` rather than mix two checkpoints.
 */
export function onDemandTensorReader(checkpoint: SafetensorsCheckpoint): OnDemandTensorReader {
  const identities = new Map<string, FileIdentity>();
  for (const { path } of checkpoint.files) {
    try {
      identities.set(path, identityOf(statSync(path)));
    } catch (error) {
      throw wrapIoError(path, 'cannot stat', error);
    }
  }
  return {
    readInto(info, target) {
      const expected = identities.get(info.file);
      if (expected === undefined) {
        throw new SafetensorsFormatError(
          info.file,
          'is not a file of the checkpoint this reader was made for',
        );
      }
      if (target.byteLength !== info.byteLength) {
        throw new SafetensorsFormatError(
          info.file,
          `a read of ${info.byteLength} bytes at offset ${info.byteOffset} was given ${target.byteLength} bytes to fill`,
        );
      }
      let descriptor: number;
      try {
        descriptor = openSync(info.file, 'r');
      } catch (error) {
        throw wrapIoError(info.file, 'cannot open for reading', error);
      }
      try {
        const found = identityOf(fstatSync(descriptor));
        const change = describeChange(expected, found);
        if (change !== undefined) throw new SafetensorsChangedError(info.file, change);
        readFully(descriptor, info.file, target, info.byteOffset);
      } catch (error) {
        throw wrapIoError(info.file, 'cannot read', error);
      } finally {
        closeSync(descriptor);
      }
    },
  };
}

function identityOf(stats: Stats): FileIdentity {
  return { dev: stats.dev, ino: stats.ino, size: stats.size, mtimeMs: stats.mtimeMs };
}

function describeChange(expected: FileIdentity, found: FileIdentity): string | undefined {
  if (expected.dev !== found.dev || expected.ino !== found.ino) return 'another file now has its name';
  if (expected.size !== found.size) return `${expected.size} bytes when opened, ${found.size} now`;
  if (expected.mtimeMs !== found.mtimeMs) return 'its modification time moved';
  return undefined;
}

function readFully(descriptor: number, file: string, target: Uint8Array, position: number): void {
  let done = 0;
  while (done < target.byteLength) {
    const length = Math.min(target.byteLength - done, MAX_TRANSFER_BYTES);
    const read = readSync(descriptor, target, done, length, position + done);
    if (read === 0) {
      throw new SafetensorsFormatError(
        file,
        `file ended at byte ${position + done} while reading ${target.byteLength} bytes at offset ${position}`,
      );
    }
    done += read;
  }
}
