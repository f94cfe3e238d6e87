import type { QuantMode } from '@ptq/quant-core';

/** The `quant_algo` names ModelOpt 0.41 writes for the three ptq modes (TensorRT-LLM's `QuantAlgo`). */
export type ModelOptQuantAlgo = 'W8A16' | 'W4A16_AWQ' | 'FP8';

export const MODELOPT_QUANT_ALGOS: readonly ModelOptQuantAlgo[] = ['W8A16', 'W4A16_AWQ', 'FP8'];

export const QUANT_ALGO_BY_MODE: Readonly<Record<QuantMode, ModelOptQuantAlgo>> = {
  'int8-weight-only': 'W8A16',
  'int4-weight-only': 'W4A16_AWQ',
  float8: 'FP8',
};

export const MODE_BY_QUANT_ALGO: Readonly<Record<ModelOptQuantAlgo, QuantMode>> = {
  W8A16: 'int8-weight-only',
  W4A16_AWQ: 'int4-weight-only',
  FP8: 'float8',
};

/** Block length along `in` of W4A16_AWQ weight scales (`group_size`). */
export const INT4_GROUP_SIZE = 128;

export function isModelOptQuantAlgo(value: unknown): value is ModelOptQuantAlgo {
  return typeof value === 'string' && (MODELOPT_QUANT_ALGOS as readonly string[]).includes(value);
}

/** `hf_quant_config.json`, ModelOpt's legacy quantization description beside the checkpoint. */
export interface HfQuantConfig {
  producer: { name: string; version: string };
  quantization: {
    quant_algo: ModelOptQuantAlgo;
    kv_cache_quant_algo: null;
    exclude_modules: string[];
    group_size?: number;
    has_zero_point?: boolean;
    pre_quant_scale?: boolean;
  };
}

/** `config.json`'s `quantization_config`, as ModelOpt's `convert_hf_quant_config_format` writes it. */
export interface ModelOptQuantizationConfig {
  quant_method: 'modelopt';
  quant_algo: ModelOptQuantAlgo;
  producer: { name: string; version: string };
  ignore: string[];
  group_size?: number;
}
