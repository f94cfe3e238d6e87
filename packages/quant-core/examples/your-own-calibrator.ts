import { DEFAULT_MODEL_DIR } from '@ptq/default-model';
import { loadHfGpt2 } from '@ptq/hf-gpt2';
import { modelOptQuantize, percentileCalibrator, weightAmax } from '@ptq/quant-core';
import { createTensor } from '@ptq/tensor';

const model = await loadHfGpt2(DEFAULT_MODEL_DIR, { device: 'cpu' });
const quantized = await modelOptQuantize(model, {
  mode: 'float8',
  inputCalibrator: percentileCalibrator(99.99),
  // e.g. weights clipped to 90% of their range
  weightCalibrator: (_linear, weight, quantizer) => {
    const amax = weightAmax(weight, quantizer);
    return createTensor(
      'float32',
      [...amax.shape],
      amax.data.map((value) => value * 0.9),
    );
  },
});
const state = quantized.stateDict();
console.log(state.get('transformer.h.0.attn.c_attn.input_quantizer._amax')?.data);
// Float32Array(1) [ 3.2326505184173584 ]  (the histogram bin edge at the 99.99th percentile of |x|)
console.log(state.get('transformer.h.0.attn.c_attn.weight_quantizer._amax')?.data);
// Float32Array(1) [ 0.12810058891773224 ]  (0.9 × the weight's max |w|)
