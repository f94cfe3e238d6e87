import { Module } from '@ptq/module-path';
import type { LinearModule } from '../graph-linear';
import type { LayerNorm } from './layer-norm';

/** GPT2Attention's parameters: the fused q/k/v projection and the output projection. */
export class GPT2Attention extends Module {
  constructor(
    public c_attn: LinearModule,
    public c_proj: LinearModule,
  ) {
    super();
  }
}

/** GPT2MLP: `c_proj(gelu_new(c_fc(x)))`. */
export class GPT2MLP extends Module {
  constructor(
    public c_fc: LinearModule,
    public c_proj: LinearModule,
  ) {
    super();
  }
}

/** One transformer block: `x + attn(ln_1(x))`, then `x + mlp(ln_2(x))`. */
export class GPT2Block extends Module {
  constructor(
    public ln_1: LayerNorm,
    public attn: GPT2Attention,
    public ln_2: LayerNorm,
    public mlp: GPT2MLP,
  ) {
    super();
  }
}
