import { InvalidArgumentError } from '@ptq/errors';
import { GraphBuilder, serializeModel } from '@ptq/onnx-format';
import { createTensor, DTYPES, type DType, type Tensor } from '@ptq/tensor';
import fc from 'fast-check';
import { Tensor as OrtTensor } from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { createSession } from './create-session';
import { asOrtTensor, fromOrtTensor, isOrtTensor, toOrtTensor } from './ort-tensor';
import { ORT_TENSOR_TYPES } from './ort-tensor-types';

const samples: Record<DType, Tensor> = {
  float32: createTensor('float32', [2], new Float32Array([1.5, -0])),
  float16: createTensor('float16', [2], new Uint16Array([0x3c00, 0x8000])),
  bfloat16: createTensor('bfloat16', [2], new Uint16Array([0x3f80, 0xff80])),
  float8e4m3fn: createTensor('float8e4m3fn', [2], new Uint8Array([0x38, 0x7e])),
  int8: createTensor('int8', [2], new Int8Array([-128, 127])),
  uint8: createTensor('uint8', [2], new Uint8Array([0, 255])),
  int4: createTensor('int4', [3], new Uint8Array([0x8f, 0x07])),
  int32: createTensor('int32', [2], new Int32Array([-7, 2 ** 31 - 1])),
  int64: createTensor('int64', [2], new BigInt64Array([-(2n ** 63n), 1n])),
  bool: createTensor('bool', [2], new Uint8Array([1, 0])),
};

describe('asOrtTensor / isOrtTensor', () => {
  it('passes an onnxruntime tensor through as it is and wraps a ptq tensor without copying', () => {
    const ort = new OrtTensor('float32', Float32Array.of(1, 2), [2]);
    expect(isOrtTensor(ort)).toBe(true);
    expect(asOrtTensor(ort)).toBe(ort);
    const host = createTensor('float32', [1, 2], Float32Array.of(3, 4));
    expect(isOrtTensor(host)).toBe(false);
    const wrapped = asOrtTensor(host);
    expect(wrapped).not.toBe(host);
    expect(wrapped.dims).toEqual([1, 2]);
    expect(wrapped.data).toBe(host.data);
  });
});

describe('toOrtTensor / fromOrtTensor', () => {
  // The onnxruntime type each dtype must travel as; bfloat16 and float8 have none, so they go as bits.
  it.each<[DType, string]>([
    ['float32', 'float32'],
    ['float16', 'float16'],
    ['bfloat16', 'uint16'],
    ['float8e4m3fn', 'uint8'],
    ['int8', 'int8'],
    ['uint8', 'uint8'],
    ['int4', 'int4'],
    ['int32', 'int32'],
    ['int64', 'int64'],
    ['bool', 'bool'],
  ])('%s travels as %s without a copy and comes back unchanged', (dtype, ortType) => {
    const tensor = samples[dtype];
    const ortTensor = toOrtTensor(tensor);
    expect(ortTensor.type).toBe(ortType);
    expect(ORT_TENSOR_TYPES[dtype]).toBe(ortType);
    expect(ortTensor.dims).toEqual(tensor.shape);
    expect(ortTensor.data).toBe(tensor.data);
    const back = fromOrtTensor(ortTensor, { dtype });
    expect(back).toEqual(tensor);
    // A view over the same memory, not a copy.
    expect(back.data.buffer).toBe(tensor.data.buffer);
  });

  it('covers every dtype in the table', () => {
    expect(Object.keys(samples).sort()).toEqual([...DTYPES].sort());
  });

  it('reads the dtype from the onnxruntime type when none is given', () => {
    for (const dtype of ['float32', 'float16', 'int8', 'uint8', 'int4', 'int32', 'int64', 'bool'] as const) {
      expect(fromOrtTensor(toOrtTensor(samples[dtype])).dtype).toBe(dtype);
    }
  });

  it('keeps shapes of scalars and empty tensors', () => {
    const scalar = createTensor('float32', [], new Float32Array([3]));
    expect(fromOrtTensor(toOrtTensor(scalar))).toEqual(scalar);
    const empty = createTensor('int64', [0, 4]);
    expect(fromOrtTensor(toOrtTensor(empty))).toEqual(empty);
  });

  it('makes views over typed arrays that start inside a larger buffer', () => {
    const buffer = new ArrayBuffer(64);
    const ortTensor = new OrtTensor('float32', new Float32Array(buffer, 16, 3), [3]);
    const tensor = fromOrtTensor(ortTensor);
    expect(tensor.data.byteOffset).toBe(16);
    expect(tensor.data.length).toBe(3);
  });

  it('round-trips random int64 and float32 tensors (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n })),
        fc.array(fc.float()),
        (ints, floats) => {
          const int64 = createTensor('int64', [ints.length], BigInt64Array.from(ints));
          const float32 = createTensor('float32', [floats.length], Float32Array.from(floats));
          expect(fromOrtTensor(toOrtTensor(int64))).toEqual(int64);
          expect(fromOrtTensor(toOrtTensor(float32))).toEqual(float32);
        },
      ),
    );
  });

  it('passes each dtype onnxruntime-node carries through a real session unchanged', async () => {
    const dtypes = ['float32', 'float16', 'int8', 'uint8', 'int32', 'int64', 'bool'] as const;
    const builder = new GraphBuilder({ name: 'identity' });
    for (const dtype of dtypes) {
      const shape = [...samples[dtype].shape];
      builder.output(
        builder.node('Identity', [builder.input(`in_${dtype}`, dtype, shape)]),
        `out_${dtype}`,
        dtype,
        shape,
      );
    }
    const { session } = await createSession(serializeModel(builder.build()), { device: 'cpu' });
    const feeds = Object.fromEntries(dtypes.map((dtype) => [`in_${dtype}`, toOrtTensor(samples[dtype])]));
    const results = await session.run(feeds);
    for (const dtype of dtypes) {
      expect(fromOrtTensor(results[`out_${dtype}`]!)).toEqual(samples[dtype]);
    }
    await session.release();
  });
});

describe('toOrtTensor / fromOrtTensor bad input', () => {
  it('refuses a dtype with no onnxruntime type', () => {
    const tensor = { dtype: 'float64', shape: [1], data: new Float64Array(1) } as unknown as Tensor;
    expect(() => toOrtTensor(tensor)).toThrow(InvalidArgumentError);
    expect(() => toOrtTensor(tensor)).toThrow('dtype "float64" has no onnxruntime tensor type');
  });

  it('refuses storage that does not match the shape', () => {
    const tensor = { dtype: 'int4', shape: [4], data: new Uint8Array(1) } as unknown as Tensor;
    expect(() => toOrtTensor(tensor)).toThrow('a int4 tensor of shape [4] needs 2 storage elements, got 1');
  });

  it('refuses GPU-resident tensors instead of reading them', () => {
    const onGpu = { location: 'gpu-buffer', type: 'float32', dims: [1] } as unknown as OrtTensor;
    expect(() => fromOrtTensor(onGpu)).toThrow(InvalidArgumentError);
    expect(() => fromOrtTensor(onGpu)).toThrow('data is on "gpu-buffer"; request this output on the CPU');
  });

  it('refuses uint16 without a dtype, and a dtype that travels as another type', () => {
    const bits = new OrtTensor('uint16', new Uint16Array([0x3f80]), [1]);
    expect(() => fromOrtTensor(bits)).toThrow(
      'onnxruntime type "uint16" has no ptq dtype; pass { dtype: \'bfloat16\' } if it holds bfloat16 bits',
    );
    expect(() => fromOrtTensor(bits, { dtype: 'float16' })).toThrow(
      '"float16" travels as onnxruntime type "float16", but the tensor is "uint16"',
    );
    expect(fromOrtTensor(bits, { dtype: 'bfloat16' })).toEqual(
      createTensor('bfloat16', [1], new Uint16Array([0x3f80])),
    );
    const doubles = new OrtTensor('float64', new Float64Array(1), [1]);
    expect(() => fromOrtTensor(doubles)).toThrow('onnxruntime type "float64" has no ptq dtype');
  });
});
