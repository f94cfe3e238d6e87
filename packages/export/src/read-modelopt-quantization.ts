import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { QuantMode } from '@ptq/nanogpt';
import { NotModelOptCheckpointError, UnknownQuantAlgoError } from './errors';
import { HF_QUANT_CONFIG_FILE } from './export-modelopt-checkpoint';
import { CONFIG_FILE, readJsonObject } from './model-files';
import {
  isModelOptQuantAlgo,
  MODE_BY_QUANT_ALGO,
  MODELOPT_QUANT_ALGOS,
  type ModelOptQuantAlgo,
} from './modelopt-quant-algo';

/** How a folder describes its ModelOpt quantization (from `hf_quant_config.json`, else `config.json`). */
export interface ModelOptQuantization {
  readonly quantAlgo: ModelOptQuantAlgo;
  readonly mode: QuantMode;
  /** Who wrote it (`ptq`, `modelopt`), when the file says. */
  readonly producer: { readonly name: string; readonly version: string } | undefined;
  /** Modules left unquantized (`exclude_modules` / `ignore`). */
  readonly excludeModules: string[];
  /** The file the quantization was read from. */
  readonly file: string;
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}

function producerOf(value: unknown): ModelOptQuantization['producer'] {
  const record = asRecord(value);
  if (record === undefined) return undefined;
  return { name: String(record.name ?? ''), version: String(record.version ?? '') };
}

function quantAlgoOf(file: string, value: unknown): ModelOptQuantAlgo {
  if (!isModelOptQuantAlgo(value)) throw new UnknownQuantAlgoError(file, value, MODELOPT_QUANT_ALGOS);
  return value;
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

async function requireFolder(directory: string): Promise<void> {
  let isDirectory = false;
  try {
    isDirectory = (await stat(directory)).isDirectory();
  } catch {
    throw new NotModelOptCheckpointError(directory, 'does not exist');
  }
  if (!isDirectory) throw new NotModelOptCheckpointError(directory, 'is not a folder');
}

/**
 * Reads which ModelOpt quantization a folder holds, from `hf_quant_config.json` or, failing that,
 * `config.json`'s `quantization_config` with `quant_method: "modelopt"`. Throws
 * `NotModelOptCheckpointError` when it has neither and `UnknownQuantAlgoError` for an algorithm
 * other than W8A16, W4A16_AWQ and FP8.
 */
export async function readModelOptQuantization(dir: string): Promise<ModelOptQuantization> {
  const directory = resolve(dir);
  await requireFolder(directory);
  const legacyFile = join(directory, HF_QUANT_CONFIG_FILE);
  if (await isFile(legacyFile)) {
    const legacy = await readJsonObject(legacyFile);
    const quantization = asRecord(legacy.quantization);
    if (quantization === undefined) {
      throw new NotModelOptCheckpointError(legacyFile, 'field "quantization" is missing or not an object');
    }
    const quantAlgo = quantAlgoOf(legacyFile, quantization.quant_algo);
    return {
      quantAlgo,
      mode: MODE_BY_QUANT_ALGO[quantAlgo],
      producer: producerOf(legacy.producer),
      excludeModules: stringList(quantization.exclude_modules),
      file: legacyFile,
    };
  }
  const configFile = join(directory, CONFIG_FILE);
  const notModelOpt = (file: string) =>
    new NotModelOptCheckpointError(
      directory,
      `holds no ${HF_QUANT_CONFIG_FILE} and no ${CONFIG_FILE} with a "quantization_config" whose quant_method is "modelopt" (checked ${file})`,
    );
  const config = await readJsonObject(configFile, notModelOpt);
  const quantizationConfig = asRecord(config.quantization_config);
  if (quantizationConfig?.quant_method !== 'modelopt') throw notModelOpt(configFile);
  const quantAlgo = quantAlgoOf(configFile, quantizationConfig.quant_algo);
  return {
    quantAlgo,
    mode: MODE_BY_QUANT_ALGO[quantAlgo],
    producer: producerOf(quantizationConfig.producer),
    excludeModules: stringList(quantizationConfig.ignore),
    file: configFile,
  };
}
