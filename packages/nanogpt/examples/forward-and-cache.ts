import { compile, GPT, initializeWeights } from '@ptq/nanogpt';
import { createTensor } from '@ptq/tensor';

const model = new GPT({
  numLayers: 2,
  numHeads: 4,
  embeddingSize: 128,
  vocabSize: 96,
  blockSize: 64,
  quantMode: 'float8',
});
initializeWeights(model, { seed: 1 });
const compiled = await compile(model, { device: 'cpu', batch: 2 });

// Row 1 is left-padded: its real tokens get the same logits as the unpadded row [9, 4].
const inputIds = createTensor('int64', [2, 3], BigInt64Array.of(7n, 9n, 4n, 95n, 9n, 4n));
const attentionMask = createTensor('int64', [2, 3], BigInt64Array.of(1n, 1n, 1n, 0n, 1n, 1n));
const { logits } = await compiled.forward(inputIds, attentionMask);
console.log(logits.dtype, logits.shape);
// float32 [ 2, 3, 96 ]

// Prefill once, then one token per step against the KV cache.
const { logits: promptLogits, cache } = await compiled.prefill(inputIds, attentionMask);
const step = await compiled.decodeStep(cache, [11, 12]);
console.log(promptLogits.shape, step.logits.shape, cache.length, cache.nextPositions);
// [ 2, 3, 96 ] [ 2, 1, 96 ] 4 [ 4, 3 ]
cache.dispose();
await compiled.release();
