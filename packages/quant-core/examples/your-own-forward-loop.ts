import { DEFAULT_MODEL_DIR } from '@ptq/default-model';
import { loadHfGpt2 } from '@ptq/hf-gpt2';
import { modelOptQuantize } from '@ptq/quant-core';
import { createTensor } from '@ptq/tensor';

const model = await loadHfGpt2(DEFAULT_MODEL_DIR, { device: 'cpu' });
const texts = [
  'It was a bright cold day in April, and the clocks were striking thirteen.',
  'The President said',
];

const quantized = await modelOptQuantize(model, 'float8', {
  forwardLoop: async (calibrationModel) => {
    for (const text of texts) {
      const ids = calibrationModel.tokenizer!.encode(text);
      await calibrationModel.forward(createTensor('int64', [1, ids.length], BigInt64Array.from(ids, BigInt)));
    }
  },
});
console.log(quantized.calibrationBatches); // 2
console.log(quantized.stateDict().get('transformer.h.0.attn.c_attn.input_quantizer._amax')?.data);
// Float32Array(1) [ 3.081138849258423 ]  (the max |x| of the two texts)
