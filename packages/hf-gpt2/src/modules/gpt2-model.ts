import { Module } from '@ptq/module-path';
import type { Embedding } from './embedding';
import type { GPT2Block } from './gpt2-block';
import type { LayerNorm } from './layer-norm';

/** GPT2Model (`transformer` in GPT2LMHeadModel): embeddings, blocks and the final LayerNorm. */
export class GPT2Model extends Module {
  constructor(
    public wte: Embedding,
    public wpe: Embedding,
    public h: GPT2Block[],
    public ln_f: LayerNorm,
  ) {
    super();
  }
}
