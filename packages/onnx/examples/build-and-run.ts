import { createSession, fromOrtTensor, toOrtTensor } from '@ptq/onnx';
import { GraphBuilder, serializeModel } from '@ptq/onnx-format';
import { createTensor } from '@ptq/tensor';

const builder = new GraphBuilder({ name: 'linear' });
const x = builder.input('x', 'float32', ['batch', 3]);
const weight = builder.initializer(
  'weight',
  createTensor('float32', [3, 2], new Float32Array([1, 2, 3, 4, 5, 6])),
);
const bias = builder.constant(createTensor('float32', [2], new Float32Array([0.5, -1])));
const y = builder.node('Add', [builder.node('MatMul', [x, weight]), bias]);
builder.output(y, 'y', 'float32', ['batch', 2]);

const bytes = serializeModel(builder.build());
const { session, device } = await createSession(bytes, { device: 'cpu' });
const outputs = await session.run({
  x: toOrtTensor(createTensor('float32', [2, 3], new Float32Array([1, 0, 0, 0, 1, 1]))),
});
console.log(device, fromOrtTensor(outputs.y!));
// cpu { dtype: 'float32', shape: [ 2, 2 ], data: Float32Array(4) [ 1.5, 1, 8.5, 9 ] }
