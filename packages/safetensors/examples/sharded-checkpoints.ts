import { openSafetensorsCheckpoint, writeShardedSafetensors } from '@ptq/safetensors';
import { createTensor } from '@ptq/tensor';

const written = await writeShardedSafetensors(
  'sharded',
  {
    'wte.weight': createTensor('float32', [4, 2], new Float32Array(8)),
    'wpe.weight': createTensor('float32', [2, 2], new Float32Array(4)),
    'ln_f.weight': createTensor('float32', [2], new Float32Array([1, 1])),
  },
  { maxShardBytes: 32 },
);
console.log(written);
// {
//   indexPath: 'sharded/model.safetensors.index.json',
//   shardPaths: [
//     'sharded/model-00001-of-00002.safetensors',
//     'sharded/model-00002-of-00002.safetensors'
//   ],
//   totalSize: 56
// }

const checkpoint = await openSafetensorsCheckpoint('sharded');
console.log(checkpoint.metadata);
// { total_size: 56 }
console.log(checkpoint.tensors.get('wte.weight'));
// {
//   dtype: 'F32',
//   shape: [ 4, 2 ],
//   byteOffset: 80,
//   byteLength: 32,
//   file: 'sharded/model-00002-of-00002.safetensors'
// }
console.log(await checkpoint.readTensor('ln_f.weight'));
// { dtype: 'float32', shape: [ 2 ], data: Float32Array(2) [ 1, 1 ] }
await checkpoint.close();
