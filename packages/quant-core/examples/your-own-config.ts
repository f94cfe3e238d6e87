import { DEFAULT_MODEL_DIR } from '@ptq/default-model';
import { loadHfGpt2 } from '@ptq/hf-gpt2';
import { INT4_AWQ_CFG, modelOptQuantize } from '@ptq/quant-core';

const model = await loadHfGpt2(DEFAULT_MODEL_DIR, { device: 'cpu' });
// int4 round-to-nearest: the AWQ config with plain max calibration.
const quantized = await modelOptQuantize(model, {
  mode: 'int4-weight-only',
  config: { ...INT4_AWQ_CFG, algorithm: 'max' },
});
console.log(quantized.awq); // undefined: no AWQ search, so no pre-quant scales
console.log(quantized.stateDict().get('transformer.h.0.attn.c_attn.weight_quantizer._amax')?.shape); // [ 1536, 1 ]
