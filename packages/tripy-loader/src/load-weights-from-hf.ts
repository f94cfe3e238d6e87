import { Conv1D, type GPT2LMHeadModel, type LoadHfGpt2Options, loadHfGpt2 } from '@ptq/hf-gpt2';
import { namedModules } from '@ptq/module-path';
import type { GPT, ModelDType } from '@ptq/nanogpt';
import { castOnce, type Tensor, transposeTensor } from '@ptq/tensor';

export interface LoadWeightsOptions {
  /** Folder or hub id (default: `modelType`). */
  readonly model?: string;
  readonly load?: LoadHfGpt2Options;
  /** An HF model already loaded. */
  readonly hfModel?: GPT2LMHeadModel;
}

/**
 * The seed's unquantized `load_weights_from_hf`: every HF parameter under its own name, Conv1D
 * weights transposed from `[in, out]` to `[out, in]`, `lm_head` tied to `transformer.wte`, cast to
 * `dtype`, loaded with every key checked.
 */
export async function loadWeightsFromHf(
  model: GPT,
  modelType: string,
  dtype: ModelDType,
  options: LoadWeightsOptions = {},
): Promise<GPT> {
  const hf = options.hfModel ?? (await loadHfGpt2(options.model ?? modelType, options.load));
  model.loadStateDict(hfStateToRuntime(hf, dtype), { strict: true });
  return model;
}

/**
 * The unquantized runtime model's state dict from an HF model (see `loadWeightsFromHf`). With
 * `include`, only the keys it accepts are made (a segment of the model: `hfRuntimeSegments`).
 */
export function hfStateToRuntime(
  hf: GPT2LMHeadModel,
  dtype: ModelDType,
  include: (key: string) => boolean = () => true,
): Map<string, Tensor> {
  const cast = castOnce(dtype);
  const state = new Map<string, Tensor>();
  for (const [path, module] of namedModules(hf, { includeRoot: false })) {
    const holder = module as unknown as { weight?: Tensor<'float32'>; bias?: Tensor<'float32'> };
    if (holder.weight !== undefined && include(`${path}.weight`)) {
      // Cast first: the transpose then moves float16's two bytes an element, not float32's four.
      const weight = cast(holder.weight) as Tensor<'float32' | 'float16' | 'bfloat16'>;
      state.set(`${path}.weight`, module instanceof Conv1D ? transposeTensor(weight) : weight);
    }
    if (holder.bias !== undefined && include(`${path}.bias`)) state.set(`${path}.bias`, cast(holder.bias));
  }
  return state;
}
