import { DEFAULT_MODEL_DIR } from '@ptq/default-model';
import { loadHfGpt2 } from '@ptq/hf-gpt2';
import { createTensor } from '@ptq/tensor';

export const model = await loadHfGpt2(DEFAULT_MODEL_DIR, { device: 'cpu' });
console.log(model.config.n_layer); // 4
console.log(model.linearPaths.slice(0, 5));
// [
//   'transformer.h.0.attn.c_attn',
//   'transformer.h.0.attn.c_proj',
//   'transformer.h.0.mlp.c_fc',
//   'transformer.h.0.mlp.c_proj',
//   'transformer.h.1.attn.c_attn'
// ]

// The tokenizer pads on the left with EOS, as calibration expects.
const encoded = model.tokenizer!(['It was a bright cold day in April, and', 'The President said'], {
  padding: true,
});
export const inputIds = createTensor('int64', encoded.input_ids.dims, encoded.input_ids.data);
export const attentionMask = createTensor('int64', encoded.attention_mask.dims, encoded.attention_mask.data);

const { logits } = await model.forward(inputIds, attentionMask);
console.log(logits!.shape); // [ 2, 12, 8192 ]
console.log(model.device); // cpu
