import { openSafetensors } from '@ptq/safetensors';

const file = await openSafetensors('model.safetensors');
console.log(file.metadata);
// { format: 'pt' }
console.log(file.tensors.get('h.0.attn.c_attn.weight'));
// { dtype: 'F32', shape: [ 2, 3 ], byteOffset: 280, byteLength: 24 }

console.log(await file.readTensor('h.0.attn.c_attn.weight'));
// {
//   dtype: 'float32',
//   shape: [ 2, 3 ],
//   data: Float32Array(6) [ 1, 2, 3, 4, 5, 6 ]
// }
console.log(await file.readTensor('h.0.attn.c_attn.bias'));
// {
//   dtype: 'float16',
//   shape: [ 3 ],
//   data: Uint16Array(3) [ 15360, 16384, 16896 ]
// }
console.log(await file.readTensorBytes('h.0.attn.c_attn.weight_scale'));
// Uint8Array(1) [ 56 ]

await file.close();
