import { GraphBuilder } from '@ptq/onnx-format';
import { createTensor } from '@ptq/tensor';

const builder = new GraphBuilder({ name: 'outputs' });
const x = builder.input('x', 'float32', ['batch', 'sequence', 4]);
const skip = builder.input('skip', 'float32', ['batch', 'sequence', 4]);
const gamma = builder.initializer('gamma', createTensor('float32', [4], new Float32Array(4).fill(1)));
const beta = builder.initializer('beta', createTensor('float32', [4], new Float32Array(4)));
const past = builder.input('past_key_values.0.key', 'float32', ['batch', 12, 'past', 64]);
const key = builder.input('key', 'float32', ['batch', 12, 'sequence', 64]);

const [normalized, , , sum] = builder.nodeWithOptionalOutputs(
  'SkipLayerNormalization',
  [x, skip, gamma, beta],
  [true, false, false, true],
  {},
  { domain: 'com.microsoft' },
);
const [present] = builder.nodeWithOutputs(
  'Concat',
  [past, key],
  1,
  { axis: 2 },
  { outputNames: ['present.0.key'] },
);
builder.output(present!, 'present.0.key', 'float32', ['batch', 12, 'total', 64]); // no Identity
builder.output(normalized!, 'normalized', 'float32', ['batch', 'sequence', 4]);
builder.output(sum!, 'sum', 'float32', ['batch', 'sequence', 4]);

for (const node of builder.build().graph.nodes) console.log(node.opType, node.outputs);
// SkipLayerNormalization [ 'SkipLayerNormalization_0_output_0', '', '', 'SkipLayerNormalization_0_output_3' ]
// Concat [ 'present.0.key' ]
// Identity [ 'normalized' ]
// Identity [ 'sum' ]
