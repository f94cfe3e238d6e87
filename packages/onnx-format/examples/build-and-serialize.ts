import { GraphBuilder, serializeModel } from '@ptq/onnx-format';
import { createTensor } from '@ptq/tensor';

const builder = new GraphBuilder({ name: 'linear' }); // opsets { '': 21, 'com.microsoft': 1 }
const x = builder.input('x', 'float32', ['batch', 3]); // strings are symbolic dimensions
const weight = builder.initializer(
  'weight',
  createTensor('float32', [3, 2], new Float32Array([1, 2, 3, 4, 5, 6])),
);
const bias = builder.constant(createTensor('float32', [2], new Float32Array([0.5, -1])));
const y = builder.node('Add', [builder.node('MatMul', [x, weight]), bias]);
builder.output(y, 'y', 'float32', ['batch', 2]);

const bytes = serializeModel(builder.build());
console.log(bytes.byteLength);
// 321
