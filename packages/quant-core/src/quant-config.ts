import { InvalidArgumentError } from '@ptq/errors';
import { isQuantMode, QUANT_MODES, type QuantMode } from '@ptq/types';

/** 8 / 4 for integers; `[4, 3]` for float8 e4m3fn (ModelOpt's `num_bits: (4, 3)`). */
export type NumBits = number | readonly [number, number];

/**
 * The attributes of one quantizer, as ModelOpt's `QuantizerAttributeConfig` names them (camelCase).
 * Each matching entry sets all attributes, unnamed ones to their defaults (enabled, 8 bits,
 * per-tensor); later entries override earlier ones.
 */
export interface QuantizerAttributeConfig {
  readonly enable?: boolean;
  readonly numBits?: NumBits;
  /** Axes kept (one scale per index along them); `null` = per-tensor. */
  readonly axis?: number | null;
  /** `{ [-1]: 128 }` = blocks of 128 along the last axis (`type: 'static'` as in ModelOpt). */
  readonly blockSizes?: Readonly<Record<number, number>> | null;
  readonly unsigned?: boolean;
  readonly narrowRange?: boolean;
}

export type QuantAlgorithm =
  | 'max'
  | { readonly method: 'max' }
  | { readonly method: 'awq_lite'; readonly alphaStep?: number };

/**
 * A quantization config: wildcard patterns on quantizer names (`*weight_quantizer`,
 * `*input_quantizer`, `*lm_head*`, or the special `default`, which applies to every quantizer first),
 * applied in order, and the calibration algorithm.
 */
export interface QuantConfig {
  readonly quantCfg: readonly (readonly [pattern: string, attributes: QuantizerAttributeConfig])[];
  readonly algorithm: QuantAlgorithm;
}

// Defined once in @ptq/types; exported here too, where they always were.
export { isQuantMode, QUANT_MODES, type QuantMode };

/** ModelOpt 0.41's `_default_disabled_quantizer_cfg`; for GPT-2 only `*lm_head*` matches anything. */
export const DEFAULT_DISABLED_QUANTIZER_CFG: QuantConfig['quantCfg'] = [
  ['*lm_head*', { enable: false }],
  ['*proj_out.*', { enable: false }],
  ['*block_sparse_moe.gate*', { enable: false }],
  ['*router*', { enable: false }],
  ['*mlp.gate.*', { enable: false }],
  ['*mlp.shared_expert_gate.*', { enable: false }],
  ['*linear_attn.conv1d*', { enable: false }],
  ['*mixer.conv1d*', { enable: false }],
  ['*output_layer*', { enable: false }],
  ['output.*', { enable: false }],
  ['default', { enable: false }],
];

/** W8A8: per-output-channel int8 weights, per-tensor int8 inputs. */
export const INT8_DEFAULT_CFG: QuantConfig = {
  quantCfg: [
    ['*weight_quantizer', { numBits: 8, axis: 0 }],
    ['*input_quantizer', { numBits: 8, axis: null }],
    ...DEFAULT_DISABLED_QUANTIZER_CFG,
  ],
  algorithm: 'max',
};

/** Per-output-channel int8 weights, inputs unquantized. */
export const INT8_WEIGHT_ONLY_CFG: QuantConfig = {
  quantCfg: [
    ['*weight_quantizer', { numBits: 8, axis: 0 }],
    ['*input_quantizer', { enable: false }],
    ...DEFAULT_DISABLED_QUANTIZER_CFG,
  ],
  algorithm: 'max',
};

/** Per-tensor float8 e4m3fn weights and inputs. */
export const FP8_DEFAULT_CFG: QuantConfig = {
  quantCfg: [
    ['*weight_quantizer', { numBits: [4, 3], axis: null }],
    ['*input_quantizer', { numBits: [4, 3], axis: null }],
    ...DEFAULT_DISABLED_QUANTIZER_CFG,
  ],
  algorithm: 'max',
};

/** int4 weights in blocks of 128 along the input dimension, AWQ-lite (alpha step 0.1). */
export const INT4_AWQ_CFG: QuantConfig = {
  quantCfg: [
    ['*weight_quantizer', { numBits: 4, blockSizes: { [-1]: 128 }, enable: true }],
    ['*input_quantizer', { enable: false }],
    ...DEFAULT_DISABLED_QUANTIZER_CFG,
  ],
  algorithm: { method: 'awq_lite', alphaStep: 0.1 },
};

/**
 * The config each mode of the seed's `modelopt_quantize` uses: int8 = INT8_DEFAULT_CFG with the input
 * quantizer disabled; int4 = INT4_AWQ_CFG; float8 = FP8_DEFAULT_CFG with the `*lm_head*` exclusion
 * removed, so lm_head's weight and input are quantized too.
 */
export function quantConfigForMode(mode: QuantMode): QuantConfig {
  switch (mode) {
    case 'int8-weight-only':
      return {
        ...INT8_DEFAULT_CFG,
        quantCfg: INT8_DEFAULT_CFG.quantCfg.map(([pattern, attributes]) =>
          pattern === '*input_quantizer' ? [pattern, { enable: false }] : [pattern, attributes],
        ),
      };
    case 'int4-weight-only':
      return INT4_AWQ_CFG;
    case 'float8':
      return {
        ...FP8_DEFAULT_CFG,
        quantCfg: FP8_DEFAULT_CFG.quantCfg.filter(([pattern]) => pattern !== '*lm_head*'),
      };
    default:
      throw new UnknownQuantModeError(mode);
  }
}

export class UnknownQuantModeError extends InvalidArgumentError {
  constructor(mode: unknown) {
    super(
      'quantMode',
      `unknown quantization mode ${JSON.stringify(mode)}; use one of ${QUANT_MODES.join(', ')}`,
    );
  }
}

/** The calibration algorithm's method name and AWQ alpha step. */
export function algorithmOf(config: QuantConfig): { method: 'max' | 'awq_lite'; alphaStep: number } {
  const algorithm = config.algorithm;
  if (algorithm === 'max') return { method: 'max', alphaStep: 0.1 };
  if (algorithm.method === 'max') return { method: 'max', alphaStep: 0.1 };
  if (algorithm.method === 'awq_lite') {
    const alphaStep = algorithm.alphaStep ?? 0.1;
    if (!(alphaStep > 0 && alphaStep <= 1)) {
      throw new InvalidArgumentError('config.algorithm.alphaStep', `must be in (0, 1], got ${alphaStep}`);
    }
    return { method: 'awq_lite', alphaStep };
  }
  throw new InvalidArgumentError(
    'config.algorithm',
    `unsupported calibration algorithm ${JSON.stringify(algorithm)}; use "max" or { method: "awq_lite" }`,
  );
}
