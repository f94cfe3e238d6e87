import { Module } from '@ptq/module-path';
import type { GPTConfig, QuantMode } from '../config';
import { LayerNorm } from './layer-norm';
import { Linear, type LinearOptions } from './linear';

/**
 * The linear options each quant mode gives the four linears of a block, as the Tripy example's
 * `model.py` does: int8 per output channel, int4 in blocks of 128 along `in` with AWQ's
 * `pre_quant_scale`, float8 per tensor with a calibrated input scale.
 */
export function blockLinearOptions(config: GPTConfig): LinearOptions {
  return linearOptionsFor(config.quantMode, { bias: config.bias, dtype: config.dtype });
}

export function linearOptionsFor(quantMode: QuantMode | undefined, base: LinearOptions): LinearOptions {
  switch (quantMode) {
    case 'int8-weight-only':
      return { ...base, quantDtype: 'int8', weightQuantDim: 0 };
    case 'int4-weight-only':
      return { ...base, quantDtype: 'int4', preQuantScale: true };
    case 'float8':
      return { ...base, quantDtype: 'float8e4m3fn', quantizeInput: true };
    default:
      return base;
  }
}

/** Multi-head causal self-attention: `c_attn` makes q, k and v; `c_proj` mixes the heads. */
export class CausalSelfAttention extends Module {
  c_attn: Linear;
  c_proj: Linear;

  constructor(config: GPTConfig) {
    super();
    const options = blockLinearOptions(config);
    this.c_attn = new Linear(config.embeddingSize, 3 * config.embeddingSize, options);
    this.c_proj = new Linear(config.embeddingSize, config.embeddingSize, options);
  }
}

/** The feed-forward part: `c_fc` widens four times, gelu, `c_proj` narrows back. */
export class MLP extends Module {
  c_fc: Linear;
  c_proj: Linear;

  constructor(config: GPTConfig) {
    super();
    const options = blockLinearOptions(config);
    this.c_fc = new Linear(config.embeddingSize, 4 * config.embeddingSize, options);
    this.c_proj = new Linear(4 * config.embeddingSize, config.embeddingSize, options);
  }
}

/** A pre-norm transformer block: `x + attn(ln_1(x))`, then `x + mlp(ln_2(x))`. */
export class Block extends Module {
  ln_1: LayerNorm;
  attn: CausalSelfAttention;
  ln_2: LayerNorm;
  mlp: MLP;

  constructor(config: GPTConfig) {
    super();
    const normOptions = { dtype: config.dtype, bias: config.bias, epsilon: config.layerNormEpsilon };
    this.ln_1 = new LayerNorm(config.embeddingSize, normOptions);
    this.attn = new CausalSelfAttention(config);
    this.ln_2 = new LayerNorm(config.embeddingSize, normOptions);
    this.mlp = new MLP(config);
  }
}
