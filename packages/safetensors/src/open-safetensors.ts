import type { FileHandle } from 'node:fs/promises';
import { closestNames, InvalidArgumentError } from '@ptq/errors';
import { openRegularFile } from '@ptq/files';
import { createTensor, type DType, type Tensor, type TensorData } from '@ptq/tensor';

import { readExactly } from './file-handle-io';
import {
  HEADER_LENGTH_BYTES,
  parseHeaderLength,
  parseSafetensorsHeader,
  type TensorInfo,
} from './parse-safetensors-header';
import { toPtqDType } from './safetensors-dtype';
import {
  MissingTensorError,
  SafetensorsClosedError,
  UnsupportedDTypeError,
  wrapIoError,
} from './safetensors-errors';

/** An open safetensors file: its validated header, and reads of one tensor at a time. */
export interface SafetensorsFile extends AsyncDisposable {
  /** The path as it was given to `openSafetensors`. */
  readonly path: string;
  /** The header's `__metadata__` (empty when absent). */
  readonly metadata: Readonly<Record<string, string>>;
  /** Every tensor, in the order of the header JSON. */
  readonly tensors: ReadonlyMap<string, TensorInfo>;
  /** Reads one tensor into a fresh, aligned typed array. */
  readTensor(name: string): Promise<Tensor>;
  /**
   * Reads one tensor's raw little-endian bytes, whatever its dtype: into `target` when given (it must
   * be exactly the tensor's length; a view into a larger buffer lets many tensors share one
   * allocation), else into a fresh array.
   */
  readTensorBytes(name: string, target?: Uint8Array): Promise<Uint8Array>;
  /** Releases the file handle; later reads throw. Calling it again does nothing. */
  close(): Promise<void>;
}

/**
 * Opens a safetensors file and validates its header. Only the 8-byte length and the header are read
 * now; tensor bytes are read on demand, one tensor at a time, so a checkpoint is never held whole.
 * Only a regular file is opened: a FIFO would block forever and a link to /dev/zero never ends
 * (`NotARegularFileError` from `@ptq/files`).
 */
export async function openSafetensors(path: string): Promise<SafetensorsFile> {
  let handle: FileHandle;
  let fileSize: number;
  try {
    // Checkpoints run to many GB and are read a tensor at a time: only the header gets a cap.
    ({ handle, size: fileSize } = await openRegularFile(path, {
      maxBytes: Number.MAX_SAFE_INTEGER,
      what: 'a safetensors file',
    }));
  } catch (error) {
    throw wrapIoError(path, 'cannot open for reading', error);
  }
  try {
    const prefix = new Uint8Array(Math.min(HEADER_LENGTH_BYTES, fileSize));
    await readExactly(handle, path, prefix, 0);
    const headerLength = parseHeaderLength(path, prefix, fileSize);
    const headerBytes = new Uint8Array(headerLength);
    await readExactly(handle, path, headerBytes, HEADER_LENGTH_BYTES);
    const { metadata, tensors } = parseSafetensorsHeader(path, headerBytes, fileSize);
    return new OpenSafetensorsFile(path, handle, metadata, tensors);
  } catch (error) {
    await handle.close().catch(() => undefined);
    throw wrapIoError(path, 'cannot read', error);
  }
}

class OpenSafetensorsFile implements SafetensorsFile {
  #handle: FileHandle | undefined;

  constructor(
    readonly path: string,
    handle: FileHandle,
    readonly metadata: Readonly<Record<string, string>>,
    readonly tensors: ReadonlyMap<string, TensorInfo>,
  ) {
    this.#handle = handle;
  }

  async readTensor(name: string): Promise<Tensor> {
    const info = this.#info(name);
    const dtype = toPtqDType(info.dtype);
    if (dtype === undefined) {
      throw new UnsupportedDTypeError(
        info.dtype,
        name,
        `${this.path}: tensor ${JSON.stringify(name)} is ${info.dtype}, which ptq has no tensor dtype for (it reads F32, F16, BF16, F8_E4M3, I64, I32, I8, U8, BOOL); use readTensorBytes for its raw bytes`,
      );
    }
    // A fresh ArrayBuffer starts at offset 0, so the typed array over it is aligned for any dtype.
    const buffer = new ArrayBuffer(info.byteLength);
    await this.#read(info, new Uint8Array(buffer));
    return createTensor(dtype, info.shape, viewAs(dtype, buffer));
  }

  async readTensorBytes(name: string, target?: Uint8Array): Promise<Uint8Array> {
    const info = this.#info(name);
    if (target !== undefined && target.byteLength !== info.byteLength) {
      throw new InvalidArgumentError(
        'target',
        `tensor ${JSON.stringify(name)} of ${this.path} is ${info.byteLength} bytes; the target holds ${target.byteLength}`,
      );
    }
    const bytes = target ?? new Uint8Array(info.byteLength);
    await this.#read(info, bytes);
    return bytes;
  }

  async close(): Promise<void> {
    const handle = this.#handle;
    this.#handle = undefined;
    await handle?.close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #info(name: string): TensorInfo {
    const info = this.tensors.get(name);
    if (info === undefined) {
      throw new MissingTensorError(
        this.path,
        name,
        closestNames(name, this.tensors.keys()),
        this.tensors.size,
      );
    }
    return info;
  }

  async #read(info: TensorInfo, target: Uint8Array): Promise<void> {
    const handle = this.#handle;
    if (handle === undefined) {
      throw new SafetensorsClosedError(this.path);
    }
    try {
      await readExactly(handle, this.path, target, info.byteOffset);
    } catch (error) {
      if (this.#handle === undefined) throw new SafetensorsClosedError(this.path);
      throw wrapIoError(
        this.path,
        `cannot read ${info.byteLength} bytes at offset ${info.byteOffset}`,
        error,
      );
    }
  }
}

/** A typed array of the dtype's storage type over `buffer`, which must be freshly allocated. */
function viewAs(dtype: DType, buffer: ArrayBuffer): TensorData {
  switch (dtype) {
    case 'float32':
      return new Float32Array(buffer);
    case 'float16':
    case 'bfloat16':
      return new Uint16Array(buffer);
    case 'int8':
      return new Int8Array(buffer);
    case 'int32':
      return new Int32Array(buffer);
    case 'int64':
      return new BigInt64Array(buffer);
    default:
      return new Uint8Array(buffer);
  }
}
