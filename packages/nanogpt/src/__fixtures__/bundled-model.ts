import { DEFAULT_MODEL_DIR, readHeldOutText } from '@ptq/default-model';
import { loadHfGpt2 } from '@ptq/hf-gpt2';
import { namedModules } from '@ptq/module-path';
import { createTensor, type Tensor, toFloat32, transposeTensor } from '@ptq/tensor';
import type { QuantMode } from '../config';
import { weightScalesOf } from '../initialize-weights';
import { GPT } from '../modules/gpt';
import { Linear } from '../modules/linear';
import { setCalibratedScales } from './calibrated-scales';

/**
 * The bundled model (`@ptq/default-model`) as a runtime GPT in `quantMode`: HF Conv1D weights
 * transposed to `[out, in]`, max-calibrated weight scales, calibration-like input and pre-quant
 * scales (`setCalibratedScales`); and `tokens` of its held-out text.
 */
export async function bundledModel(
  quantMode: QuantMode | undefined,
  tokens: number,
): Promise<{ model: GPT; tokens: number[] }> {
  const hf = await loadHfGpt2(DEFAULT_MODEL_DIR);
  const { config } = hf;
  const model = new GPT({
    numLayers: config.n_layer,
    numHeads: config.n_head,
    embeddingSize: config.n_embd,
    vocabSize: config.vocab_size,
    blockSize: config.n_positions,
    quantMode,
  });
  const state = new Map<string, Tensor>();
  for (const [path, module] of namedModules(hf, { includeRoot: false })) {
    // The head is tied to the embedding: left out, it stays tied.
    if (path === 'lm_head') continue;
    const holder = module as unknown as { weight?: Tensor; bias?: Tensor; constructor: { name: string } };
    if (holder.weight !== undefined) {
      const weight = createFloat32(holder.weight);
      state.set(`${path}.weight`, holder.constructor.name === 'Conv1D' ? transposeTensor(weight) : weight);
    }
    if (holder.bias !== undefined) state.set(`${path}.bias`, createFloat32(holder.bias));
  }
  model.loadStateDict(state, { strict: false });
  for (const [, module] of namedModules(model)) {
    if (module instanceof Linear && module.quantDtype !== undefined)
      module.weight_scale = weightScalesOf(module);
  }
  setCalibratedScales(model);
  const text = await readHeldOutText();
  const ids = hf.tokenizer!.encode(text.slice(0, tokens * 8));
  return { model, tokens: Array.from(ids.slice(0, tokens), Number) };
}

function createFloat32(tensor: Tensor): Tensor<'float32'> {
  return createTensor('float32', [...tensor.shape], toFloat32(tensor));
}
