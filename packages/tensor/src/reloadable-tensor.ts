import { InvalidArgumentError } from '@ptq/errors';
import {
  allocateStorage,
  createTensor,
  type DType,
  type DTypeStorage,
  numElements,
  storageLengthOf,
  type Tensor,
} from './tensor';

/**
 * A tensor whose data is made by `load` when first read and kept until `release`, then made again
 * on the next read: a checkpoint's weight read from its file when a step needs it, so a model larger
 * than the memory it may take is held one part at a time. `load` must give the same values each time
 * (a step that changes the values in place must say how to make them again, or they are lost with
 * the release).
 */
export class ReloadableTensor<D extends DType = DType> implements Tensor<D> {
  readonly dtype: D;
  readonly shape: readonly number[];
  readonly #load: () => DTypeStorage[D];
  #data: DTypeStorage[D] | undefined;

  constructor(dtype: D, shape: readonly number[], load: () => DTypeStorage[D]) {
    this.dtype = dtype;
    this.shape = [...shape];
    this.#load = load;
    // Checked now, so a wrong shape fails where the tensor is made, not at a later read.
    numElements(shape);
  }

  get data(): DTypeStorage[D] {
    if (this.#data === undefined) this.#data = this.#checked(this.#load(), 'load');
    return this.#data;
  }

  /**
   * Holds `data` as if `load` had made it: values a step computed elsewhere (a device) that equal
   * what `load` gives.
   */
  hold(data: DTypeStorage[D]): void {
    this.#data = this.#checked(data, 'data');
  }

  #checked(data: DTypeStorage[D], argument: string): DTypeStorage[D] {
    const expectedLength = storageLengthOf(this.dtype, numElements(this.shape));
    const expectedType = allocateStorage(this.dtype, 0).constructor;
    if (data.constructor !== expectedType || data.length !== expectedLength) {
      throw new InvalidArgumentError(
        argument,
        `gave a ${data.constructor.name} of ${data.length} elements for a ${this.dtype} tensor of shape [${this.shape.join(', ')}]`,
      );
    }
    return data;
  }

  /** Whether the data is held now (read since the last release). */
  get resident(): boolean {
    return this.#data !== undefined;
  }

  /** Drops the held data; the next read of `data` loads it again. */
  release(): void {
    this.#data = undefined;
  }
}

/** Releases a `ReloadableTensor`'s data; any other tensor (held for good) is left as it is. */
export function releaseTensor(tensor: Tensor | undefined): void {
  if (tensor instanceof ReloadableTensor) tensor.release();
}

/** Whether the tensor's data can be dropped and made again. */
export function isReloadableTensor(tensor: Tensor | undefined): tensor is ReloadableTensor {
  return tensor instanceof ReloadableTensor;
}

/**
 * A plain tensor over what a `ReloadableTensor` holds now, so the caller keeps that data whatever a
 * release does and nothing reads it again; any other tensor is returned as it is.
 */
export function heldTensor<D extends DType>(tensor: Tensor<D>): Tensor<D> {
  return tensor instanceof ReloadableTensor ? createTensor(tensor.dtype, tensor.shape, tensor.data) : tensor;
}
