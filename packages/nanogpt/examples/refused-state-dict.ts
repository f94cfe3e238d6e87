import { StateDictError } from '@ptq/nanogpt';
import { createTensor } from '@ptq/tensor';
import { model } from './state-dict';

const weights = model.stateDict();
weights.set('transformer.h.0.attn.c_attn.weight_scale', createTensor('float32', [18, 768])); // reshape(-1, in_features)
weights.delete('transformer.ln_f.bias');
weights.set('transformer.h.0.attn.bias', createTensor('float32', [1, 1, 1024, 1024]));
try {
  model.loadStateDict(weights);
} catch (error) {
  if (!StateDictError.isInstance(error)) throw error;
  console.log(error.code);
  console.log(error.message);
}
// PTQ_STATE_DICT
// state dict does not fit the GPT model (3 problems):
//   - unexpected key "transformer.h.0.attn.bias"
//   - missing key "transformer.ln_f.bias"
//   - "transformer.h.0.attn.c_attn.weight_scale": shape [18, 768] does not match the model's [2304, 6] (int4 block scales [out, ceil(in / 128)], blocks of 128 along in); [18, 768] is the [out / 128, in] layout of reshape(-1, in_features), which gives weights the scales of other blocks: pass ModelOpt's [out, in / 128] layout, [2304, 6], where weight_scale[o, b] scales weight[o, 128·b … 128·b + 127]
