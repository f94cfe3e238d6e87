// How fast one float8 weight [768, 2304] can be decoded and multiplied per run on a device, for the
// storages a float8 linear could use. Informs `defaultWeightFormat`.
//
//   node .bench/float8-weight-decode.mjs --device webgpu

import { createSession, type Device } from '@ptq/onnx';
import { GraphBuilder, serializeModel, type Value } from '@ptq/onnx-format';
import { createTensor, float8E4M3FNBitsToFloat32, float32ArrayToFloat16, type Tensor } from '@ptq/tensor';
import { Tensor as OrtTensor } from 'onnxruntime-node';

const device = (process.argv[process.argv.indexOf('--device') + 1] ?? 'cpu') as Device;
const rows = 768;
const columns = 2304;
const codes = Uint8Array.from({ length: rows * columns }, (_, index) => (index * 37) % 0x7e);
const table = Float32Array.from({ length: 256 }, (_, code) => float8E4M3FNBitsToFloat32(code) * 0.01);

type Variant = [string, (builder: GraphBuilder) => Value];
const lookup = (builder: GraphBuilder, storage: Tensor, offset?: number): Value => {
  let indices = builder.node('Cast', [builder.initializer('codes', storage)], { to: 6 });
  if (offset !== undefined) {
    indices = builder.node('Add', [
      indices,
      builder.constant(createTensor('int32', [], Int32Array.of(offset))),
    ]);
  }
  return builder.node('Gather', [builder.constant(createTensor('float32', [256], table)), indices], {
    axis: 0,
  });
};
const variants: Variant[] = [
  [
    'float32 weight (not compact)',
    (b) =>
      b.initializer(
        'w',
        createTensor(
          'float32',
          [rows, columns],
          Float32Array.from(codes, (c) => table[c]!),
        ),
      ),
  ],
  ['lookup uint8 codes', (b) => lookup(b, createTensor('uint8', [rows, columns], codes))],
  [
    'lookup int8 codes + 128',
    (b) =>
      lookup(
        b,
        createTensor(
          'int8',
          [rows, columns],
          Int8Array.from(codes, (c) => c - 128),
        ),
        128,
      ),
  ],
  [
    'lookup float16 codes',
    (b) =>
      lookup(b, createTensor('float16', [rows, columns], float32ArrayToFloat16(Float32Array.from(codes)))),
  ],
  [
    'lookup int32 codes (not compact)',
    (b) =>
      b.node(
        'Gather',
        [
          b.constant(createTensor('float32', [256], table)),
          b.initializer('codes', createTensor('int32', [rows, columns], Int32Array.from(codes))),
        ],
        { axis: 0 },
      ),
  ],
  [
    'DequantizeLinear float8',
    (b) =>
      b.node('DequantizeLinear', [
        b.initializer('codes', createTensor('float8e4m3fn', [rows, columns], codes)),
        b.constant(createTensor('float32', [], Float32Array.of(0.01))),
      ]),
  ],
];

for (const [name, weight] of variants) {
  const builder = new GraphBuilder({ name: 'float8_decode' });
  const x = builder.input('x', 'float32', [1, rows]);
  builder.output(builder.node('MatMul', [x, weight(builder)]), 'y', 'float32', [1, columns]);
  const { session } = await createSession(serializeModel(builder.build()), {
    device,
    sessionOptions: { extra: { optimization: { disable_specified_optimizers: 'ConstantFolding' } } },
  });
  const feeds = { x: new OrtTensor('float32', new Float32Array(rows).fill(0.5), [1, rows]) };
  for (let run = 0; run < 5; run += 1) await session.run(feeds);
  const times: number[] = [];
  for (let run = 0; run < 30; run += 1) {
    const start = performance.now();
    await session.run(feeds);
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  console.log(`${device}\t${name}\t${times[15]!.toFixed(3)} ms/run (median of 30)`);
  await session.release();
}
