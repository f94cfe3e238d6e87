import { createSession, fromOrtTensor, toOrtTensor } from '@ptq/onnx';
import { GraphBuilder, serializeModel } from '@ptq/onnx-format';
import { createTensor } from '@ptq/tensor';

// The 4-bit graph of @ptq/onnx-format's README.
const q = new GraphBuilder({ name: 'q4' });
const a = q.input('a', 'float32', ['tokens', 64]);
const packed = q.initializer('B', createTensor('uint8', [2, 2, 16], new Uint8Array(64).fill(0x99))); // every code 9
const scales = q.initializer('scales', createTensor('float32', [4], new Float32Array([0.5, 0.5, 2, 2])));
const out = q.node(
  'MatMulNBits',
  [a, packed, scales],
  { K: 64, N: 2, bits: 4, block_size: 32 },
  { domain: 'com.microsoft' },
);
q.output(out, 'y', 'float32', ['tokens', 2]);
const { session } = await createSession(serializeModel(q.build()), { device: 'cpu' });
const result = await session.run({
  a: toOrtTensor(createTensor('float32', [1, 64], new Float32Array(64).fill(1))),
});
console.log(fromOrtTensor(result.y!));
// { dtype: 'float32', shape: [ 1, 2 ], data: Float32Array(2) [ 32, 128 ] }
