import { resolve } from 'node:path';
import { AutoTokenizer, env } from '@huggingface/transformers';
import { type CalibrationModel, createForwardLoop } from '@ptq/calibration';

env.allowRemoteModels = false;
// A folder with tokenizer.json; an absolute path, as transformers.js reads a relative one as a hub id.
export const tokenizer = await AutoTokenizer.from_pretrained(resolve('gpt2'));
const forwardLoop = await createForwardLoop({
  dataset: 'cnn_dailymail',
  tokenizer,
  batchSize: 16,
  numSamples: 64,
  device: 'cpu', // only reported: batches are host tensors either way (default 'auto')
  onProgress: (progress) => console.log(progress),
});
console.log(forwardLoop.batches.map((batch) => batch.inputIds.shape)); // [ [ 16, 512 ], [ 16, 512 ], [ 16, 512 ], [ 16, 512 ] ]
console.log(forwardLoop.sampleCount); // 64
console.log(forwardLoop.tokenCount); // 30527 (real tokens; the rest are pads)
console.log(forwardLoop.device); // cpu

// Any object with forward(inputIds, attentionMask): here one that counts real tokens.
const model: CalibrationModel = {
  async forward(inputIds, attentionMask) {
    let real = 0n;
    for (const bit of attentionMask.data) real += bit;
    console.log('forward', inputIds.shape, real);
  },
};
await forwardLoop(model);
// forward [ 16, 512 ] 7556n
// { batch: 1, batches: 4, samples: 16, totalSamples: 64, tokens: 7556 }
// forward [ 16, 512 ] 7467n
// { batch: 2, batches: 4, samples: 32, totalSamples: 64, tokens: 15023 }
// forward [ 16, 512 ] 7965n
// { batch: 3, batches: 4, samples: 48, totalSamples: 64, tokens: 22988 }
// forward [ 16, 512 ] 7539n
// { batch: 4, batches: 4, samples: 64, totalSamples: 64, tokens: 30527 }
