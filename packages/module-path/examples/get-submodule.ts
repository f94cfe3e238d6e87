import { getSubmodule } from '@ptq/module-path';
import { GPT2LMHeadModel, type Linear } from './model-tree';

const model = new GPT2LMHeadModel();

const cAttn = getSubmodule<Linear>(model, 'transformer.h.0.attn.c_attn');
console.log(cAttn.moduleType, cAttn.inFeatures, cAttn.outFeatures);
// Linear 768 2304

const gate = getSubmodule<Linear>(model, 'transformer.experts.gate');
console.log(gate === model.transformer.experts.get('gate'));
// true

console.log(getSubmodule(model, '') === model);
// true
