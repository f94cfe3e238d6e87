import type { Gpt2Config } from '@ptq/hf-gpt2';
import type { QuantMode } from '@ptq/quant-core';

/** The int4 block: 128 weights along the input dimension share a scale (ModelOpt's INT4 AWQ). */
const INT4_BLOCK = 128;

/**
 * Parameters of the GPT-2 a config describes, each counted once: a tied `lm_head` is the token
 * embedding. A checkpoint that quantizes the head stores it apart and says `tie_word_embeddings:
 * false` so that no loader re-ties it (ModelOpt's float8 checkpoint); `headQuantized` counts such a
 * head as the tied one it was quantized from.
 */
export function gpt2ParameterCount(config: Gpt2Config, options: { headQuantized?: boolean } = {}): number {
  const {
    vocab_size: vocab,
    n_positions: positions,
    n_embd: width,
    n_layer: layers,
    n_inner: inner,
  } = config;
  const block =
    2 * width + // ln_1
    width * 3 * width +
    3 * width + // attn.c_attn
    width * width +
    width + // attn.c_proj
    2 * width + // ln_2
    width * inner +
    inner + // mlp.c_fc
    inner * width +
    width; // mlp.c_proj
  const untiedHead = config.tie_word_embeddings === false && !options.headQuantized ? vocab * width : 0;
  return vocab * width + positions * width + layers * block + 2 * width + untiedHead;
}

/** Inputs and outputs of a GPT-2 linear by its module path, or undefined for a name that is none. */
export function linearShape(
  layer: string,
  config: Gpt2Config,
): { inputs: number; outputs: number } | undefined {
  const { n_embd: width, n_inner: inner, vocab_size: vocab } = config;
  if (layer === 'lm_head') return { inputs: width, outputs: vocab };
  if (layer.endsWith('.attn.c_attn')) return { inputs: width, outputs: 3 * width };
  if (layer.endsWith('.attn.c_proj')) return { inputs: width, outputs: width };
  if (layer.endsWith('.mlp.c_fc')) return { inputs: width, outputs: inner };
  if (layer.endsWith('.mlp.c_proj')) return { inputs: inner, outputs: width };
  return undefined;
}

/**
 * Weight scales as ModelOpt defines them, whatever the file repeats: one per output channel (int8),
 * one per block of 128 inputs per output channel (int4), one per tensor (float8). ONNX's MatMulNBits
 * stores int8 scales per block of inputs too, each channel's value repeated; counted here once.
 */
export function weightScaleCount(
  mode: QuantMode,
  layers: readonly string[],
  config: Gpt2Config,
): number | undefined {
  let count = 0;
  for (const layer of layers) {
    const shape = linearShape(layer, config);
    if (shape === undefined) return undefined;
    count +=
      mode === 'int8-weight-only'
        ? shape.outputs
        : mode === 'int4-weight-only'
          ? shape.outputs * Math.ceil(shape.inputs / INT4_BLOCK)
          : 1;
  }
  return count;
}
