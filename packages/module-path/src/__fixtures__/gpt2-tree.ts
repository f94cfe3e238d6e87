import { Module } from '../module';

/** A tensor in the `{ dtype, shape, data }` shape of `@ptq/tensor`, zero-filled. */
export interface FixtureTensor {
  readonly dtype: 'float32';
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

export function tensor(...shape: number[]): FixtureTensor {
  return {
    dtype: 'float32',
    shape,
    data: new Float32Array(shape.reduce((product, size) => product * size, 1)),
  };
}

/** Hugging Face's GPT-2 `Conv1D`: weight stored [in, out]. */
export class Conv1D extends Module {
  weight: FixtureTensor;
  bias: FixtureTensor;
  constructor(inFeatures: number, outFeatures: number) {
    super();
    this.weight = tensor(inFeatures, outFeatures);
    this.bias = tensor(outFeatures);
  }
}

export class Linear extends Module {
  weight: FixtureTensor;
  bias: FixtureTensor | null;
  constructor(weight: FixtureTensor) {
    super();
    this.weight = weight;
    this.bias = null;
  }
}

export class Embedding extends Module {
  weight: FixtureTensor;
  constructor(count: number, width: number) {
    super();
    this.weight = tensor(count, width);
  }
}

export class LayerNorm extends Module {
  weight: FixtureTensor;
  bias: FixtureTensor;
  eps: number;
  constructor(width: number) {
    super();
    this.weight = tensor(width);
    this.bias = tensor(width);
    this.eps = 1e-5;
  }
}

export class Dropout extends Module {
  p = 0.1;
}

export class NewGELUActivation extends Module {}

export class GPT2Attention extends Module {
  c_attn: Conv1D;
  c_proj: Conv1D;
  attn_dropout: Dropout;
  resid_dropout: Dropout;
  // Assigned in the constructor, in PyTorch's registration order, so insertion order is explicit.
  constructor(width: number) {
    super();
    this.c_attn = new Conv1D(width, 3 * width);
    this.c_proj = new Conv1D(width, width);
    this.attn_dropout = new Dropout();
    this.resid_dropout = new Dropout();
  }
  forward(): void {}
}

export class GPT2MLP extends Module {
  c_fc: Conv1D;
  c_proj: Conv1D;
  act: NewGELUActivation;
  dropout: Dropout;
  constructor(width: number) {
    super();
    this.c_fc = new Conv1D(width, 4 * width);
    this.c_proj = new Conv1D(4 * width, width);
    this.act = new NewGELUActivation();
    this.dropout = new Dropout();
  }
}

export class GPT2Block extends Module {
  ln_1: LayerNorm;
  attn: GPT2Attention;
  ln_2: LayerNorm;
  mlp: GPT2MLP;
  constructor(width: number) {
    super();
    this.ln_1 = new LayerNorm(width);
    this.attn = new GPT2Attention(width);
    this.ln_2 = new LayerNorm(width);
    this.mlp = new GPT2MLP(width);
  }
}

export class GPT2Model extends Module {
  wte: Embedding;
  wpe: Embedding;
  drop: Dropout;
  h: GPT2Block[];
  ln_f: LayerNorm;
  /** A ModuleDict-style container (a Map), as mixture-of-experts models have. */
  experts: Map<string, Conv1D>;
  constructor(layers: number, width: number, vocabulary: number, positions: number) {
    super();
    this.wte = new Embedding(vocabulary, width);
    this.wpe = new Embedding(positions, width);
    this.drop = new Dropout();
    this.h = Array.from({ length: layers }, () => new GPT2Block(width));
    this.ln_f = new LayerNorm(width);
    this.experts = new Map([
      ['gate', new Conv1D(width, width)],
      ['up', new Conv1D(width, width)],
      ['down', new Conv1D(width, width)],
    ]);
  }
}

export class GPT2LMHeadModel extends Module {
  config: { n_layer: number; n_embd: number; activation_function: string };
  transformer: GPT2Model;
  lm_head: Linear;
  constructor(layers = 2, width = 4, vocabulary = 10, positions = 8) {
    super();
    this.config = { n_layer: layers, n_embd: width, activation_function: 'gelu_new' };
    this.transformer = new GPT2Model(layers, width, vocabulary, positions);
    // Tied weights, as in GPT-2: the head shares the token embedding's tensor (not its module).
    this.lm_head = new Linear(this.transformer.wte.weight);
  }
}
