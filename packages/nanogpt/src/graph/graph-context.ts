import type { GraphBuilder, Value } from '@ptq/onnx-format';
import { createTensor, float32ArrayToFloat16, type Tensor } from '@ptq/tensor';
import type { ModelDType } from '../config';

/** ONNX `TensorProto.DataType` codes the graph casts to. */
export const ONNX_FLOAT = 1;
export const ONNX_INT32 = 6;
export const ONNX_INT64 = 7;
export const ONNX_BOOL = 9;
export const ONNX_FLOAT16 = 10;

/** The builder plus the model dtype, with shared small constants (one initializer per distinct value). */
export class GraphContext {
  readonly builder: GraphBuilder;
  readonly dtype: ModelDType;
  readonly #constants = new Map<string, Value>();

  constructor(builder: GraphBuilder, dtype: ModelDType) {
    this.builder = builder;
    this.dtype = dtype;
  }

  /** ONNX type code of the model dtype, for `Cast`. */
  get dtypeCode(): number {
    return this.dtype === 'float16' ? ONNX_FLOAT16 : ONNX_FLOAT;
  }

  /** A scalar constant of the model dtype (or float32 when asked). */
  scalar(value: number, dtype: ModelDType = this.dtype): Value {
    return this.#shared(`${dtype}:${value}`, () => floatTensor(dtype, [], Float32Array.of(value)));
  }

  /** A `[1, count]` row of ones in the model dtype. */
  onesRow(count: number): Value {
    return this.#shared(`ones:${this.dtype}:${count}`, () =>
      floatTensor(this.dtype, [1, count], new Float32Array(count).fill(1)),
    );
  }

  /** An int64 vector constant. */
  int64s(values: readonly number[]): Value {
    return this.#shared(`int64s:${values.join(',')}`, () =>
      createTensor('int64', [values.length], BigInt64Array.from(values, BigInt)),
    );
  }

  /** An int32 vector constant. */
  int32s(values: readonly number[]): Value {
    return this.#shared(`int32s:${values.join(',')}`, () =>
      createTensor('int32', [values.length], Int32Array.from(values)),
    );
  }

  /** An int64 scalar constant. */
  int64(value: number): Value {
    return this.#shared(`int64:${value}`, () => createTensor('int64', [], BigInt64Array.of(BigInt(value))));
  }

  /** An int32 scalar constant. */
  int32(value: number): Value {
    return this.#shared(`int32:${value}`, () => createTensor('int32', [], Int32Array.of(value)));
  }

  /** A named initializer in the model dtype made from float32 values. */
  floatInitializer(name: string, shape: readonly number[], values: Float32Array): Value {
    return this.builder.initializer(name, floatTensor(this.dtype, shape, values));
  }

  #shared(key: string, make: () => Tensor): Value {
    let value = this.#constants.get(key);
    if (value === undefined) {
      value = this.builder.constant(make());
      this.#constants.set(key, value);
    }
    return value;
  }
}

/** float32 values as a tensor of `dtype` (rounded to nearest even for float16). */
export function floatTensor(dtype: ModelDType, shape: readonly number[], values: Float32Array): Tensor {
  return dtype === 'float16'
    ? createTensor('float16', shape, float32ArrayToFloat16(values))
    : createTensor('float32', shape, values);
}

/**
 * `[batch, sequence, width]` from the first two dimensions of `tokens` (`[batch, sequence, …]`), to
 * give flattened rows their shape back. `tokens` should be a tensor the device made: a `Shape` of a
 * graph input can be placed on the CPU, which would copy that input off the device to read it.
 */
export function tokensShape(context: GraphContext, tokens: Value, width: number): Value {
  const { builder } = context;
  return builder.node('Concat', [builder.node('Shape', [tokens], { end: 2 }), context.int64s([width])], {
    axis: 0,
  });
}
