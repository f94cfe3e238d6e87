import { Module } from '@ptq/module-path';
import type { Tensor } from '@ptq/tensor';
import { type GPTConfig, type GPTConfigInput, resolveGPTConfig } from '../config';
import { collectStateDict } from '../state-dict/collect-state-dict';
import {
  type LoadStateDictOptions,
  type LoadStateDictResult,
  loadStateDict,
  type StateDictInput,
} from '../state-dict/load-state-dict';
import { Block, linearOptionsFor } from './block';
import { Embedding } from './embedding';
import { LayerNorm } from './layer-norm';
import { Linear } from './linear';

/** The `transformer` part of the model, a plain record as in nanoGPT's `nn.ModuleDict`. */
export interface GPTTransformer {
  wte: Embedding;
  wpe: Embedding;
  h: Block[];
  ln_f: LayerNorm;
}

/**
 * The runtime GPT-2 model, the counterpart of the Tripy nanoGPT example's `GPT`: a module tree whose
 * paths are the checkpoint's (`transformer.wte`, `transformer.h.0.attn.c_attn`, …, `lm_head`). It
 * holds weights and scales; `compile` turns it into an onnxruntime session.
 *
 * `lm_head.weight` starts tied to `transformer.wte.weight` (the same tensor), as in GPT-2. In float8
 * mode `lm_head` is quantized too (Tripy's variant of ModelOpt's FP8 config); in the other modes it
 * stays unquantized, as ModelOpt leaves it.
 */
export class GPT extends Module {
  readonly config: GPTConfig;
  transformer: GPTTransformer;
  lm_head: Linear;

  constructor(config: GPTConfigInput) {
    super();
    this.config = resolveGPTConfig(config);
    const { numLayers, embeddingSize, vocabSize, blockSize, dtype, bias, layerNormEpsilon } = this.config;
    this.transformer = {
      wte: new Embedding(vocabSize, embeddingSize, dtype),
      wpe: new Embedding(blockSize, embeddingSize, dtype),
      h: Array.from({ length: numLayers }, () => new Block(this.config)),
      ln_f: new LayerNorm(embeddingSize, { dtype, bias, epsilon: layerNormEpsilon }),
    };
    const headOptions = linearOptionsFor(this.config.quantMode === 'float8' ? 'float8' : undefined, {
      bias: false,
      dtype,
    });
    this.lm_head = new Linear(embeddingSize, vocabSize, headOptions);
    this.lm_head.weight = this.transformer.wte.weight;
  }

  /** Whether `lm_head.weight` is the same tensor as `transformer.wte.weight`. */
  get weightsTied(): boolean {
    return this.lm_head.weight === this.transformer.wte.weight;
  }

  /**
   * Every parameter keyed by its dotted path (`transformer.h.0.attn.c_attn.weight`, `…weight_scale`,
   * `lm_head.weight`…), in module order. Tied weights appear under both keys as the same tensor.
   */
  stateDict(): Map<string, Tensor> {
    return collectStateDict(this);
  }

  /**
   * Replaces parameters from `stateDict`, checking every key first and changing nothing when any
   * check fails: one `StateDictError` lists all unknown keys, missing keys, shape and dtype mismatches.
   * With `strict: false`, unknown and missing keys are returned instead of thrown. While the weights
   * are tied, `lm_head.weight` may be left out; giving it a different tensor unties them.
   */
  loadStateDict(stateDict: StateDictInput, options: LoadStateDictOptions = {}): LoadStateDictResult {
    return loadStateDict(this, stateDict, options);
  }
}
