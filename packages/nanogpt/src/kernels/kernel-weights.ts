import { toFloat32 } from '@ptq/tensor';
import type { Linear } from '../modules/linear';
import { linearCodes } from '../modules/linear-codes';
import type { KernelWeightKind } from './linear-shader';

/** A linear's weight as the kernels read it, made on the host once per compile. */
export interface KernelLinearWeights {
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly kind: KernelWeightKind;
  /** float32 `[out, in]`, or codes packed little-endian into `[out, wordsPerRow]` words. */
  readonly weight: Float32Array | Uint32Array;
  /** int8: one per output row; int4: `[out, ceil(in / 128)]`; otherwise a single 1. */
  readonly scales: Float32Array;
  /** `[out]`, zeros when the linear has none. */
  readonly bias: Float32Array;
  /** AWQ `pre_quant_scale [in]`, multiplied into the input. */
  readonly preScale: Float32Array | undefined;
  /** float8 inputs: the calibrated per-tensor input scale. */
  readonly inputScale: number | undefined;
  /** float8 weights: `weight_scale · input_scale` (the input stays on the e4m3 grid), else 1. */
  readonly weightFactor: number;
}

/** Packs `codes [rows, columns]` (`bits` each, two's complement) into little-endian words per row. */
export function packCodes(
  codes: Int8Array | Uint8Array,
  rows: number,
  columns: number,
  bits: 4 | 8,
): Uint32Array {
  const perWord = 32 / bits;
  const words = Math.ceil(columns / perWord);
  const mask = (1 << bits) - 1;
  const packed = new Uint32Array(rows * words);
  for (let row = 0; row < rows; row += 1) {
    for (let column = 0; column < columns; column += 1) {
      const code = codes[row * columns + column]! & mask;
      const word = row * words + Math.floor(column / perWord);
      packed[word] = (packed[word]! | (code << (bits * (column % perWord)))) >>> 0;
    }
  }
  return packed;
}

/** float16 bits `[rows, columns]` into words of two per row, the even column in the low half. */
export function packHalves(halves: Uint16Array, rows: number, columns: number): Uint32Array {
  const words = Math.ceil(columns / 2);
  const packed = new Uint32Array(rows * words);
  for (let row = 0; row < rows; row += 1) {
    for (let column = 0; column < columns; column += 1) {
      const word = row * words + (column >> 1);
      packed[word] = (packed[word]! | (halves[row * columns + column]! << (16 * (column & 1)))) >>> 0;
    }
  }
  return packed;
}

/**
 * The codes and scales of a linear, the same as the graph's (`appendLinear`): `linearCodes`, the
 * codes the linear holds or `quantize` of @ptq/scale-math on its float weight with its `weight_scale`.
 */
export function prepareLinear(linear: Linear): KernelLinearWeights {
  const { inFeatures, outFeatures, quantDtype } = linear;
  const bias = linear.bias === undefined ? new Float32Array(outFeatures) : toFloat32(linear.bias);
  const preScale = linear.pre_quant_scale === undefined ? undefined : toFloat32(linear.pre_quant_scale);
  const inputScale = linear.input_scale === undefined ? undefined : toFloat32(linear.input_scale)[0]!;
  const common = { inFeatures, outFeatures, bias, preScale, inputScale };
  if (quantDtype === undefined) {
    if (linear.weight.dtype === 'float16') {
      // The float16 bits as they are, two to a word (the low half first): exact, half the bytes.
      const halves = linear.weight.data as Uint16Array;
      return {
        ...common,
        kind: 'float16',
        weight: packHalves(halves, outFeatures, inFeatures),
        scales: Float32Array.of(1),
        weightFactor: 1,
      };
    }
    return {
      ...common,
      kind: 'float32',
      weight: toFloat32(linear.weight),
      scales: Float32Array.of(1),
      weightFactor: 1,
    };
  }
  const scales = toFloat32(linear.weight_scale!);
  const codes = linearCodes(linear, scales);
  if (quantDtype === 'float8e4m3fn') {
    return {
      ...common,
      kind: 'float8',
      weight: packCodes(codes, outFeatures, inFeatures, 8),
      scales: Float32Array.of(1),
      weightFactor: scales[0]! * (inputScale ?? 1),
    };
  }
  if (quantDtype === 'int4') {
    return {
      ...common,
      kind: 'int4',
      weight: packCodes(codes, outFeatures, inFeatures, 4),
      scales,
      weightFactor: 1,
    };
  }
  const perChannel = linear.weightQuantDim === 0;
  return {
    ...common,
    kind: 'int8',
    weight: packCodes(codes, outFeatures, inFeatures, 8),
    // A per-tensor scale repeated per row, so one kernel serves both.
    scales: perChannel ? scales : new Float32Array(outFeatures).fill(scales[0]!),
    weightFactor: 1,
  };
}
