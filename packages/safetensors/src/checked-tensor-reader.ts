import { type DType, isFloatDType, type Tensor, toFloat32 } from '@ptq/tensor';
import type { SafetensorsCheckpoint } from './open-safetensors-checkpoint';
import { toPtqDType } from './safetensors-dtype';
import { SafetensorsFormatError } from './safetensors-errors';

/** What a reader accepts for one tensor, with the words that describe it in an error. */
export interface TensorExpectation {
  readonly description: string;
  accepts(dtype: DType | undefined, shape: readonly number[]): boolean;
}

export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

function sameShape(left: readonly number[], right: readonly number[]): boolean {
  return left.length === right.length && left.every((size, index) => size === right[index]);
}

/** Exactly `dtype` and `shape`; `note` follows the description (`int8 [4, 8] (W8A16)`). */
export function exactTensor(dtype: DType, shape: readonly number[], note = ''): TensorExpectation {
  return {
    description: `${dtype} ${formatShape(shape)}${note}`,
    accepts: (found, foundShape) => found === dtype && sameShape(foundShape, shape),
  };
}

/** Any float dtype, exactly `shape`; `what` names it in the description (default `float`). */
export function floatTensor(shape: readonly number[], what = 'float'): TensorExpectation {
  return {
    description: `${what} ${formatShape(shape)}`,
    accepts: (found, foundShape) =>
      found !== undefined && isFloatDType(found) && sameShape(foundShape, shape),
  };
}

export interface CheckedTensorReaderOptions {
  /**
   * The error for a missing or mismatched tensor; `message` starts after the tensor's name (`is
   * missing; expected …`). Default: a `SafetensorsFormatError` naming the file and the tensor.
   */
  readonly toError?: (file: string, tensor: string, message: string) => Error;
}

/**
 * Reads a checkpoint's tensors by name, checking each one's dtype and shape from the header before
 * any of its bytes are read, and remembers which were read, so that the tensors nobody asked for
 * can be reported.
 */
export class CheckedTensorReader {
  readonly #checkpoint: SafetensorsCheckpoint;
  readonly #toError: (file: string, tensor: string, message: string) => Error;
  readonly #consumed = new Set<string>();

  constructor(checkpoint: SafetensorsCheckpoint, options: CheckedTensorReaderOptions = {}) {
    this.#checkpoint = checkpoint;
    this.#toError =
      options.toError ??
      ((file, tensor, message) => new SafetensorsFormatError(file, `tensor "${tensor}" ${message}`));
  }

  has(name: string): boolean {
    return this.#checkpoint.tensors.has(name);
  }

  /** The file that holds `name` (the checkpoint's own path when it holds no such tensor). */
  fileOf(name: string): string {
    return this.#checkpoint.tensors.get(name)?.file ?? this.#checkpoint.path;
  }

  /** The checkpoint's tensor names that no `read` asked for, in checkpoint order. */
  unread(): string[] {
    return [...this.#checkpoint.tensors.keys()].filter((name) => !this.#consumed.has(name));
  }

  async read(name: string, expectation: TensorExpectation): Promise<Tensor> {
    const info = this.#checkpoint.tensors.get(name);
    if (info === undefined) {
      throw this.#toError(this.#checkpoint.path, name, `is missing; expected ${expectation.description}`);
    }
    const dtype = toPtqDType(info.dtype);
    if (!expectation.accepts(dtype, info.shape)) {
      throw this.#toError(
        info.file,
        name,
        `is ${dtype ?? info.dtype} ${formatShape(info.shape)}; expected ${expectation.description}`,
      );
    }
    this.#consumed.add(name);
    return this.#checkpoint.readTensor(name);
  }

  /** A float tensor (any float dtype) of exactly `shape`, as float32 values. */
  async readFloat(name: string, shape: readonly number[], what = 'float'): Promise<Float32Array> {
    return toFloat32(await this.read(name, floatTensor(shape, what)));
  }
}
