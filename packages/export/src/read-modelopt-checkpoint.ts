import { join, resolve } from 'node:path';
import { type Gpt2Config, gpt2ParameterShape, isAttentionBuffer, parseGpt2Config } from '@ptq/hf-gpt2';
import { GPT, type ModelDType } from '@ptq/nanogpt';
import { CheckedTensorReader, openSafetensorsCheckpoint, type SafetensorsCheckpoint } from '@ptq/safetensors';
import { castOnce, createTensor, type Tensor } from '@ptq/tensor';
import { gptConfigFromHf } from '@ptq/tripy-loader';
import { CheckpointTensorError, NotModelOptCheckpointError } from './errors';
import { CONFIG_FILE, readJsonObject } from './model-files';
import { linearSlots } from './modelopt-linear-layout';
import { readLinear } from './read-modelopt-linear';
import { type ModelOptQuantization, readModelOptQuantization } from './read-modelopt-quantization';

export interface ReadModelOptCheckpointOptions {
  /** dtype of the float tensors of `runtimeState` (default 'float32'). */
  readonly dtype?: ModelDType;
}

export interface ModelOptCheckpoint extends ModelOptQuantization {
  readonly directory: string;
  readonly hfConfig: Gpt2Config;
  /**
   * The runtime GPT's state dict for `mode` (what `GPT.loadStateDict` takes): quantized weights
   * dequantized to `codes × scale`, from which compiling re-derives the same codes, with their scales;
   * AWQ's folded LayerNorms as stored, with a `pre_quant_scale` of ones for `c_attn` / `c_fc`.
   */
  readonly runtimeState: Map<string, Tensor>;
}

/**
 * Reads a ModelOpt unified HF checkpoint (ptq's export or ModelOpt's own, single file or sharded) into
 * the runtime GPT's state dict for its mode (see `ModelOptCheckpoint.runtimeState`). Every tensor is
 * checked against its format's dtype and shape; missing, misshapen and unexpected tensors throw a
 * `CheckpointTensorError` naming the file and tensor.
 */
export async function readModelOptCheckpoint(
  dir: string,
  options: ReadModelOptCheckpointOptions = {},
): Promise<ModelOptCheckpoint> {
  const directory = resolve(dir);
  const quantization = await readModelOptQuantization(directory);
  const configFile = join(directory, CONFIG_FILE);
  const hfConfig = parseGpt2Config(await readJsonObject(configFile), configFile);
  // Checked before reading tensors: the runtime's MLP width.
  gptConfigFromHf(hfConfig);
  const { quantAlgo, mode } = quantization;

  let checkpoint: SafetensorsCheckpoint;
  try {
    checkpoint = await openSafetensorsCheckpoint(directory);
  } catch (error) {
    throw new NotModelOptCheckpointError(
      directory,
      `has no readable safetensors checkpoint (${(error as Error).message})`,
      {
        cause: error,
      },
    );
  }
  const state = new Map<string, Tensor>();
  try {
    const reader = new CheckedTensorReader(checkpoint, {
      toError: (file, tensor, message) => new CheckpointTensorError(file, tensor, message),
    });
    // Shapes from hf-gpt2's layout of this config.
    const copyFloat = async (name: string) => {
      const shape = gpt2ParameterShape(hfConfig, name)!;
      state.set(name, createTensor('float32', shape, await reader.readFloat(name, shape)));
    };
    const slots = linearSlots(hfConfig, mode);
    await copyFloat('transformer.wte.weight');
    await copyFloat('transformer.wpe.weight');
    for (let layer = 0; layer < hfConfig.n_layer; layer += 1) {
      const block = `transformer.h.${layer}`;
      for (const norm of ['ln_1', 'ln_2']) {
        await copyFloat(`${block}.${norm}.weight`);
        await copyFloat(`${block}.${norm}.bias`);
      }
      for (const slot of slots.filter((candidate) => candidate.path.startsWith(`${block}.`))) {
        await readLinear(reader, slot, quantAlgo, mode, state);
      }
    }
    await copyFloat('transformer.ln_f.weight');
    await copyFloat('transformer.ln_f.bias');
    await readLinear(reader, slots[slots.length - 1]!, quantAlgo, mode, state);

    const unexpected = reader.unread().filter((name) => !isAttentionBuffer(name));
    if (unexpected.length > 0) {
      const listed =
        unexpected.slice(0, 8).join(', ') +
        (unexpected.length > 8 ? `, … (${unexpected.length} in all)` : '');
      throw new CheckpointTensorError(
        reader.fileOf(unexpected[0]!),
        unexpected[0]!,
        `is not part of a GPT-2 ${quantAlgo} checkpoint (unexpected tensors: ${listed})`,
      );
    }
  } finally {
    await checkpoint.close();
  }

  const cast = castOnce(options.dtype ?? 'float32');
  const runtimeState = new Map<string, Tensor>();
  for (const [name, tensor] of state) runtimeState.set(name, cast(tensor));
  if (!runtimeState.has('lm_head.weight'))
    runtimeState.set('lm_head.weight', runtimeState.get('transformer.wte.weight')!);
  return { ...quantization, directory, hfConfig, runtimeState };
}

export interface LoadModelOptCheckpointOptions extends ReadModelOptCheckpointOptions {}

/** Reads a ModelOpt checkpoint and loads it into a new runtime GPT of its mode, ready to `compile`. */
export async function loadModelOptCheckpoint(
  dir: string,
  options: LoadModelOptCheckpointOptions = {},
): Promise<{ gpt: GPT; checkpoint: ModelOptCheckpoint }> {
  const checkpoint = await readModelOptCheckpoint(dir, options);
  const gpt = new GPT(
    gptConfigFromHf(checkpoint.hfConfig, { dtype: options.dtype, quantMode: checkpoint.mode }),
  );
  gpt.loadStateDict(checkpoint.runtimeState, { strict: true });
  return { gpt, checkpoint };
}
