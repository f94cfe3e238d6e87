import { namedChildren, namedModules } from '@ptq/module-path';
import { GPT2LMHeadModel } from './model-tree';

const model = new GPT2LMHeadModel();

for (const [name, module] of namedModules(model)) {
  console.log(JSON.stringify(name), module.moduleType);
}
// "" GPT2LMHeadModel
// "transformer" GPT2Model
// "transformer.h.0" Block
// "transformer.h.0.attn" Attention
// "transformer.h.0.attn.c_attn" Linear
// "transformer.h.0.attn.c_proj" Linear
// "transformer.h.1" Block
// "transformer.h.1.attn" Attention
// "transformer.h.1.attn.c_attn" Linear
// "transformer.h.1.attn.c_proj" Linear
// "transformer.experts.gate" Linear
// "lm_head" Linear

console.log([...namedChildren(model.transformer)].map(([name]) => name));
// [ 'h.0', 'h.1', 'experts.gate' ]
