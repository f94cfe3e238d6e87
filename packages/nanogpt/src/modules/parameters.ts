import { InvalidArgumentError } from '@ptq/errors';
import { Module } from '@ptq/module-path';
import { createTensor, float32ToFloat16Bits, numElements, type Tensor } from '@ptq/tensor';
import type { ModelDType } from '../config';

/**
 * A module that owns tensors of its own (its "parameters", in PyTorch's words). The state dict is
 * the parameters of every module of the tree, keyed `<module path>.<parameter name>`.
 */
export abstract class ParameterModule extends Module {
  /** Names of the tensor-valued properties this module holds now, in state-dict order. */
  abstract parameterNames(): readonly string[];

  /** The tensor held under a parameter name. */
  getParameter(name: string): Tensor {
    this.#checkName(name);
    return (this as unknown as Record<string, Tensor>)[name]!;
  }

  /** Replaces a parameter; the caller has checked shape and dtype (`loadStateDict` does). */
  setParameter(name: string, tensor: Tensor): void {
    this.#checkName(name);
    (this as unknown as Record<string, Tensor>)[name] = tensor;
  }

  #checkName(name: string): void {
    const names = this.parameterNames();
    if (!names.includes(name)) {
      throw new InvalidArgumentError(
        'name',
        `${this.moduleType} has no parameter "${name}" (it has ${names.join(', ')})`,
      );
    }
  }

  static isParameterModule(value: unknown): value is ParameterModule {
    return value instanceof ParameterModule;
  }
}

/** A tensor of `dtype` and `shape` with every element equal to `value`. */
export function filledTensor(dtype: ModelDType, shape: readonly number[], value: number): Tensor {
  const count = numElements(shape);
  // A new array is zeros already; filling it anyway would touch every page of a weight that a
  // state dict replaces next (a model's worth of memory, for nothing).
  if (dtype === 'float16') {
    const bits = new Uint16Array(count);
    return createTensor(
      'float16',
      shape,
      Object.is(value, 0) ? bits : bits.fill(float32ToFloat16Bits(value)),
    );
  }
  const values = new Float32Array(count);
  return createTensor('float32', shape, Object.is(value, 0) ? values : values.fill(value));
}
