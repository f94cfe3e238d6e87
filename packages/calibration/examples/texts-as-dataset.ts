import { createForwardLoop } from '@ptq/calibration';
import { tokenizer } from './create-forward-loop';

const small = await createForwardLoop({
  dataset: ['Hello world', ' the'],
  tokenizer,
  batchSize: 2,
  numSamples: 2,
});
console.log(small.batches[0]!.inputIds);
// { dtype: 'int64', shape: [ 2, 2 ], data: BigInt64Array(4) [ 15496n, 995n, 50256n, 262n ] }
console.log(small.batches[0]!.attentionMask);
// { dtype: 'int64', shape: [ 2, 2 ], data: BigInt64Array(4) [ 1n, 1n, 0n, 1n ] }
