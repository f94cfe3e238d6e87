import { GraphBuilder, serializeModel } from '@ptq/onnx-format';
import { createTensor } from '@ptq/tensor';

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
const bytes = serializeModel(q.build()); // run it with @ptq/onnx's createSession
console.log(bytes.byteLength); // 393
