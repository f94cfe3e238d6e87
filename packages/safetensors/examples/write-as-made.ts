import { openSafetensors, writePlannedSafetensors } from '@ptq/safetensors';
import { createTensor } from '@ptq/tensor';

await writePlannedSafetensors(
  'planned.safetensors',
  [
    { name: 'h.0.weight', dtype: 'int8', shape: [2, 2] },
    { name: 'h.0.weight_scale', dtype: 'float32', shape: [2] },
  ],
  async (write) => {
    // Made one at a time, written at its place, and dropped.
    await write('h.0.weight', createTensor('int8', [2, 2], new Int8Array([1, -1, 127, -128])));
    await write('h.0.weight_scale', createTensor('float32', [2], new Float32Array([0.5, 0.25])));
  },
  { metadata: { format: 'pt' } },
);
const file = await openSafetensors('planned.safetensors');
console.log(file.tensors.get('h.0.weight'));
// { dtype: 'I8', shape: [ 2, 2 ], byteOffset: 184, byteLength: 4 }
console.log(await file.readTensor('h.0.weight_scale'));
// { dtype: 'float32', shape: [ 2 ], data: Float32Array(2) [ 0.5, 0.25 ] }
await file.close();
