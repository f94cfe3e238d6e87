import type { GPT2LMHeadModel } from '@ptq/hf-gpt2';
import { type Module, namedModules } from '@ptq/module-path';
import type { Tensor } from '@ptq/tensor';
import type { AwqLayerResult } from './awq-lite';
import type { QuantConfig, QuantMode } from './quant-config';
import type { QuantLinear } from './quant-linear';
import { TensorQuantizer } from './tensor-quantizer';

/** What the dataset loop calibrated on, as used (absent for a custom forward loop or no data). */
export interface CalibrationData {
  /** Which text, e.g. "the bundled sample of 250 real test-split articles (cnn_dailymail)". */
  readonly description: string;
  readonly sampleCount: number;
  /** Real (unpadded) tokens over all samples. */
  readonly tokenCount: number;
  /** Tokens kept per sample: the requested value, or the default capped at the model's positions. */
  readonly maxSampleLength: number;
}

export interface QuantizedModelParts {
  readonly model: GPT2LMHeadModel;
  readonly mode: QuantMode;
  readonly config: QuantConfig;
  readonly linears: ReadonlyMap<string, QuantLinear>;
  readonly awq: ReadonlyMap<string, AwqLayerResult> | undefined;
  readonly seconds: number;
  readonly calibrationBatches: number;
  readonly calibrationData?: CalibrationData;
}

/** What `modelOptQuantize` returns: the quantized HF model and what calibration found. */
export class QuantizedModel {
  /** The HF model, its linears replaced by `QuantLinear`s: forward and perplexity run fake-quantized. */
  readonly model: GPT2LMHeadModel;
  readonly mode: QuantMode;
  readonly config: QuantConfig;
  /** Quantized linears by path, in forward order. */
  readonly linears: ReadonlyMap<string, QuantLinear>;
  /** AWQ-lite's chosen alpha and the loss of every alpha, per linear (int4). */
  readonly awq: ReadonlyMap<string, AwqLayerResult> | undefined;
  readonly seconds: number;
  readonly calibrationBatches: number;
  /** The dataset loop's samples, as used; undefined with a custom forward loop or without data. */
  readonly calibrationData: CalibrationData | undefined;

  constructor(parts: QuantizedModelParts) {
    this.model = parts.model;
    this.mode = parts.mode;
    this.config = parts.config;
    this.linears = parts.linears;
    this.awq = parts.awq;
    this.seconds = parts.seconds;
    this.calibrationBatches = parts.calibrationBatches;
    this.calibrationData = parts.calibrationData;
  }

  /**
   * The state dict with ModelOpt's keys and shapes: every parameter (tied ones under each name),
   * quantized weights `[out, in]`, `…weight_quantizer._amax`, `…input_quantizer._amax`,
   * `…input_quantizer._pre_quant_scale`. Disabled quantizers contribute nothing.
   */
  stateDict(): Map<string, Tensor> {
    return modelOptStateDict(this.model);
  }
}

export function modelOptStateDict(root: Module): Map<string, Tensor> {
  const state = new Map<string, Tensor>();
  for (const [path, module] of namedModules(root, { includeRoot: true })) {
    const prefix = path === '' ? '' : `${path}.`;
    if (module instanceof TensorQuantizer) {
      if (module.amax !== undefined && module.enabled) state.set(`${prefix}_amax`, module.amax);
      if (module.preQuantScale !== undefined) state.set(`${prefix}_pre_quant_scale`, module.preQuantScale);
      continue;
    }
    for (const name of ['weight', 'bias'] as const) {
      const value = (module as unknown as Record<string, unknown>)[name];
      if (isTensor(value)) state.set(`${prefix}${name}`, value);
    }
  }
  return state;
}

function isTensor(value: unknown): value is Tensor {
  return (
    typeof value === 'object' && value !== null && 'dtype' in value && 'shape' in value && 'data' in value
  );
}
