import { join, resolve } from 'node:path';
import { InvalidArgumentError } from '@ptq/errors';
import { isQuantMode, type QuantizedModel } from '@ptq/quant-core';
import { SAFETENSORS_FILE, writePlannedSafetensors } from '@ptq/safetensors';
import { listFiles } from './list-files';
import { CONFIG_FILE, checkTokenizerFiles, copyTokenizerAndGenerationFiles, writeJson } from './model-files';
import {
  type HfQuantConfig,
  INT4_GROUP_SIZE,
  type ModelOptQuantAlgo,
  type ModelOptQuantizationConfig,
  QUANT_ALGO_BY_MODE,
} from './modelopt-quant-algo';
import { planModelOptState } from './modelopt-state';
import { PRODUCER } from './producer';
import { writeDirectoryAtomically } from './write-directory-atomically';

export const HF_QUANT_CONFIG_FILE = 'hf_quant_config.json';

export interface ExportModelOptCheckpointOptions {
  /** The Hugging Face model folder the model came from: its tokenizer files and `generation_config.json` are copied. */
  readonly sourceDir: string;
  /**
   * Replace an earlier ptq output at `outDir` (default false: refuse it). A folder holding anything
   * ptq did not write, the working folder and `sourceDir` are never replaced (see
   * `writeDirectoryAtomically`).
   */
  readonly overwrite?: boolean;
}

export interface ExportResult {
  /** Absolute path of the folder written. */
  readonly directory: string;
  /** Every file in it, relative to it, sorted. */
  readonly files: string[];
}

/** `hf_quant_config.json` for an algorithm and its excluded modules. */
export function hfQuantConfig(algo: ModelOptQuantAlgo, excludeModules: readonly string[]): HfQuantConfig {
  return {
    producer: { ...PRODUCER },
    quantization: {
      quant_algo: algo,
      kv_cache_quant_algo: null,
      exclude_modules: [...excludeModules],
      ...(algo === 'W4A16_AWQ'
        ? { group_size: INT4_GROUP_SIZE, has_zero_point: false, pre_quant_scale: true }
        : {}),
    },
  };
}

/** `config.json`'s `quantization_config` for an algorithm and its excluded modules. */
export function modelOptQuantizationConfig(
  algo: ModelOptQuantAlgo,
  excludeModules: readonly string[],
): ModelOptQuantizationConfig {
  return {
    quant_method: 'modelopt',
    quant_algo: algo,
    producer: { ...PRODUCER },
    ignore: [...excludeModules],
    ...(algo === 'W4A16_AWQ' ? { group_size: INT4_GROUP_SIZE } : {}),
  };
}

/**
 * Writes a quantized model as a ModelOpt unified Hugging Face checkpoint (what ModelOpt 0.41's
 * `export_hf_checkpoint` makes, and what TensorRT-LLM, vLLM and SGLang read): `model.safetensors`
 * with the exported weights and scales (see `modelOptState`), `config.json` with a
 * `quantization_config`, `hf_quant_config.json`, and the source folder's tokenizer files and
 * `generation_config.json`.
 *
 * The folder appears whole or not at all (written beside `outDir`, then renamed). Float tensors stay
 * float32, the precision ptq quantized in, so reading the checkpoint back gives the same model; the
 * config's `dtype` says so.
 */
export async function exportModelOptCheckpoint(
  quantized: QuantizedModel,
  outDir: string,
  options: ExportModelOptCheckpointOptions,
): Promise<ExportResult> {
  if (typeof outDir !== 'string' || outDir === '') {
    throw new InvalidArgumentError('outDir', `must be a folder path, got ${JSON.stringify(outDir)}`);
  }
  if (typeof options?.sourceDir !== 'string' || options.sourceDir === '') {
    throw new InvalidArgumentError(
      'sourceDir',
      'must name the Hugging Face folder to copy the tokenizer from',
    );
  }
  if (!isQuantMode(quantized.mode)) {
    throw new InvalidArgumentError(
      'quantized.mode',
      `must be a ptq quant mode, got ${String(quantized.mode)}`,
    );
  }
  const algo = QUANT_ALGO_BY_MODE[quantized.mode];
  await checkTokenizerFiles(options.sourceDir);
  // Planned first (every refusal before anything is written), then each tensor made, written at its
  // place and dropped: the export holds one or two linears' codes at a time beside the model.
  const state = planModelOptState(quantized, algo);
  const directory = resolve(outDir);

  const writeOptions = { overwrite: options.overwrite ?? false, protectedFolders: [options.sourceDir] };
  await writeDirectoryAtomically(directory, writeOptions, async (temporary) => {
    await writePlannedSafetensors(
      join(temporary, SAFETENSORS_FILE),
      state.planned,
      async (write) => {
        // One write under way while the next tensor is made: the packed weights' two arrays are
        // used in turn, so the one being written is never the one being made.
        let pending: Promise<void> | undefined;
        try {
          for (const [name, tensor] of state.tensors({ reusePackedWeights: true })) {
            const previous = pending;
            pending = write(name, tensor);
            // Awaited on the next turn or below; meanwhile a failure must not go unhandled.
            pending.catch(() => undefined);
            await previous;
          }
          await pending;
        } finally {
          // Nothing is left writing into the file when this returns or throws.
          await pending?.catch(() => undefined);
        }
      },
      { metadata: { format: 'pt' } },
    );
    await writeJson(join(temporary, CONFIG_FILE), exportedConfig(quantized.model.config.raw, algo, state));
    await writeJson(join(temporary, HF_QUANT_CONFIG_FILE), hfQuantConfig(algo, state.excludeModules));
    await copyTokenizerAndGenerationFiles(options.sourceDir, temporary);
  });
  return { directory, files: await listFiles(directory) };
}

function exportedConfig(
  raw: Readonly<Record<string, unknown>>,
  algo: ModelOptQuantAlgo,
  state: { excludeModules: string[]; headStored: boolean },
): Record<string, unknown> {
  const config: Record<string, unknown> = { ...raw };
  // The float tensors are float32; a config saying float16 would make loaders cast them down.
  let dtypeSet = false;
  for (const key of ['dtype', 'torch_dtype']) {
    if (key in config) {
      config[key] = 'float32';
      dtypeSet = true;
    }
  }
  if (!dtypeSet) config.torch_dtype = 'float32';
  // A quantized head is its own tensor; a loader that re-tied it would replace it by the float embedding.
  if (state.headStored) config.tie_word_embeddings = false;
  config.quantization_config = modelOptQuantizationConfig(algo, state.excludeModules);
  return config;
}
