import { GraphBuilder } from '@ptq/onnx-format';
import { createTensor } from '@ptq/tensor';

const builder = new GraphBuilder({ name: 'attributes' });
const x = builder.input('x', 'float32', [2, 2]);
const softmax = builder.node('Softmax', [x], { axis: -1 }); // INT
builder.node('LeakyRelu', [x], { alpha: 0.1 }); // FLOAT
builder.node('LeakyRelu', [x], { alpha: { type: 'float', value: 1 } }); // FLOAT, though whole
builder.node('Transpose', [x], { perm: [1, 0] }); // INTS
builder.node('Constant', [], { value: createTensor('int64', [1], new BigInt64Array([4n])) }); // TENSOR
builder.output(softmax, 'y', 'float32', [2, 2]);

for (const node of builder.build().graph.nodes) {
  for (const { name, type, value } of node.attributes) console.log(node.opType, name, type, value);
}
// Softmax axis int -1n
// LeakyRelu alpha float 0.1
// LeakyRelu alpha float 1
// Transpose perm ints [ 1n, 0n ]
// Constant value tensor { dtype: 'int64', shape: [ 1 ], data: BigInt64Array(1) [ 4n ] }
