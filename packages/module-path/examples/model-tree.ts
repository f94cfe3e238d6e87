import { Module } from '@ptq/module-path';

export class Linear extends Module {
  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
  ) {
    super();
  }
}

export class Attention extends Module {
  c_attn = new Linear(768, 2304);
  c_proj = new Linear(768, 768);
}

export class Block extends Module {
  attn = new Attention();
}

export class GPT2Model extends Module {
  h = [new Block(), new Block()]; // a list, like PyTorch's ModuleList
  experts = new Map([['gate', new Linear(768, 768)]]); // a Map, like ModuleDict
}

export class GPT2LMHeadModel extends Module {
  transformer = new GPT2Model();
  lm_head = new Linear(768, 50257);
}
