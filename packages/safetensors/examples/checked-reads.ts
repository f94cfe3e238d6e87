import { CheckedTensorReader, exactTensor, openSafetensorsCheckpoint } from '@ptq/safetensors';

// h.0.weight int8 [2, 2], h.0.weight_scale float32 [2], written above
const checkpoint = await openSafetensorsCheckpoint('planned.safetensors');
const reader = new CheckedTensorReader(checkpoint);
console.log(await reader.readFloat('h.0.weight_scale', [2])); // Float32Array(2) [ 0.5, 0.25 ] (any float dtype, as float32)
await reader.read('h.0.weight', exactTensor('int8', [4, 2])).catch((error) => console.log(String(error)));
// SafetensorsFormatError: planned.safetensors: tensor "h.0.weight" is int8 [2, 2]; expected int8 [4, 2]
console.log(reader.unread()); // [ 'h.0.weight' ]
await checkpoint.close();
