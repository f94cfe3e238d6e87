import { getSubmodule, Module, namedModules, setSubmodule } from '@ptq/module-path';
import { GPT2LMHeadModel, Linear } from './model-tree';

class QuantLinear extends Module {
  constructor(readonly original: Linear) {
    super();
  }
}

const model = new GPT2LMHeadModel();

for (const [name, module] of namedModules(model)) {
  if (module instanceof Linear && name !== 'lm_head') {
    setSubmodule(model, name, new QuantLinear(module));
  }
}

console.log(getSubmodule<Module>(model, 'transformer.h.1.attn.c_proj').moduleType);
// QuantLinear
console.log(getSubmodule<Module>(model, 'transformer.experts.gate').moduleType);
// QuantLinear
console.log(getSubmodule<Module>(model, 'lm_head').moduleType);
// Linear
