import { DEFAULT_MODEL_DIR } from '@ptq/default-model';
import { loadHfGpt2 } from '@ptq/hf-gpt2';
import { modelOptQuantize } from '@ptq/quant-core';

const model = await loadHfGpt2(DEFAULT_MODEL_DIR, { device: 'cpu' });
const quantized = await modelOptQuantize(model, 'int4-weight-only');
// ptq: cnn_dailymail not in the Hugging Face cache and the hub is unreachable; using the bundled sample of 250 real test-split articles
// ptq: calibrating int4-weight-only on 16 samples of cnn_dailymail in batches of 16
// ptq: AWQ-lite alphas per linear: 0.1 0.2 0.2 0.3 0.2 0.2 0.2 0.2 0.1 0.2 0.1 0.3 0.1 0.3 0.1 0.4
// ptq: quantization took 12.62 s
// (these ptq: lines go to stderr)

const state = quantized.stateDict();
console.log(state.get('transformer.h.0.attn.c_attn.weight')?.shape); // [ 768, 256 ]  ([out, in])
console.log(state.get('transformer.h.0.attn.c_attn.weight_quantizer._amax')?.shape); // [ 1536, 1 ]  ([out·in/128, 1])
console.log(state.get('transformer.h.0.attn.c_attn.input_quantizer._pre_quant_scale')?.shape); // [ 256 ]
