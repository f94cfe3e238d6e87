import { InvalidArgumentError } from '@ptq/errors';
import type { QuantLinear, TensorQuantizer } from '@ptq/quant-core';
import { convertToScale, quantize } from '@ptq/scale-math';
import { createTensor, type DType, packInt4Rows, type Tensor, toFloat32 } from '@ptq/tensor';
import { UnsupportedExportError } from './errors';
import { INT4_GROUP_SIZE, type ModelOptQuantAlgo } from './modelopt-quant-algo';

/** The tensors ModelOpt's unified HF export writes for one quantized linear (names relative to the linear). */
export interface ModelOptLinearTensors {
  readonly weight: Tensor;
  readonly weight_scale: Tensor;
  readonly input_scale?: Tensor;
  readonly pre_quant_scale?: Tensor;
}

function describe(quantizer: TensorQuantizer): string {
  try {
    return quantizer.describe();
  } catch (error) {
    return `TensorQuantizer(${(error as Error).message})`;
  }
}

function requireAmax(path: string, name: string, quantizer: TensorQuantizer): Tensor<'float32'> {
  if (quantizer.amax === undefined) {
    throw new UnsupportedExportError(
      `${path}.${name} is enabled but uncalibrated (no _amax); quantize the model first`,
    );
  }
  return quantizer.amax;
}

function mismatch(path: string, algo: ModelOptQuantAlgo, expected: string, linear: QuantLinear): never {
  throw new UnsupportedExportError(
    `${path} does not fit ${algo} (expected ${expected}; weight_quantizer is ${describe(linear.weight_quantizer)}, ` +
      `input_quantizer is ${describe(linear.input_quantizer)})`,
  );
}

/** int4 codes packed as the export stores them (`packInt4Rows`: `[out / 2, in]` bytes, row 2r low). */
export interface PackedInt4Codes {
  readonly packedInt4Rows: Uint8Array;
}

/** A tensor's dtype and shape, known before its data is made. */
export interface TensorLayout {
  readonly dtype: DType;
  readonly shape: readonly number[];
}

/** The layout of what `modelOptLinearTensors` makes for a linear (names relative to the linear). */
export interface ModelOptLinearLayout {
  readonly weight: TensorLayout;
  readonly weight_scale: TensorLayout;
  readonly input_scale?: TensorLayout;
  readonly pre_quant_scale?: TensorLayout;
}

/**
 * The dtypes and shapes of a linear's exported tensors (see `modelOptLinearTensors`), with every
 * check that needs no weight data: an exporter can plan the whole file before making any codes.
 */
export function modelOptLinearLayout(
  path: string,
  linear: QuantLinear,
  algo: ModelOptQuantAlgo,
  weightShape: readonly number[] = linear.weight.shape,
): ModelOptLinearLayout {
  const weightQuantizer = linear.weight_quantizer;
  const inputQuantizer = linear.input_quantizer;
  if (
    weightShape.length !== 2 ||
    weightShape[0] !== linear.outFeatures ||
    weightShape[1] !== linear.inFeatures
  ) {
    throw new UnsupportedExportError(
      `${path}: the weight to export has shape [${weightShape.join(', ')}], the linear [${linear.outFeatures}, ${linear.inFeatures}]`,
    );
  }
  const [outFeatures = 0, inFeatures = 0] = weightShape;
  if (!weightQuantizer.enabled) mismatch(path, algo, 'an enabled weight quantizer', linear);
  switch (algo) {
    case 'W8A16': {
      if (
        weightQuantizer.format !== 'int8' ||
        weightQuantizer.axis !== 0 ||
        weightQuantizer.blockSize !== undefined
      ) {
        mismatch(path, algo, 'int8 weights with axis 0', linear);
      }
      if (inputQuantizer.enabled) mismatch(path, algo, 'a disabled input quantizer', linear);
      // Made here too, so an amax the scale refuses fails the plan, before any file is written.
      convertToScale(requireAmax(path, 'weight_quantizer', weightQuantizer), 127);
      return {
        weight: { dtype: 'int8', shape: [outFeatures, inFeatures] },
        weight_scale: { dtype: 'float32', shape: [outFeatures] },
      };
    }
    case 'W4A16_AWQ': {
      if (weightQuantizer.format !== 'int4' || weightQuantizer.blockSize !== INT4_GROUP_SIZE) {
        mismatch(path, algo, `int4 weights in blocks of ${INT4_GROUP_SIZE} along in`, linear);
      }
      if (inputQuantizer.enabled) mismatch(path, algo, 'a disabled input quantizer', linear);
      if (outFeatures % 2 !== 0) {
        throw new UnsupportedExportError(
          `${path} has ${outFeatures} output rows; ModelOpt packs two output rows per byte and needs an even count`,
        );
      }
      const blocks = Math.ceil(inFeatures / INT4_GROUP_SIZE);
      const scaleCount = convertToScale(requireAmax(path, 'weight_quantizer', weightQuantizer), 7).data
        .length;
      if (scaleCount !== outFeatures * blocks) {
        throw new UnsupportedExportError(
          `${path}.weight_quantizer._amax holds ${scaleCount} values; a [${outFeatures}, ${inFeatures}] weight in blocks of ${INT4_GROUP_SIZE} needs ${outFeatures * blocks}`,
        );
      }
      return {
        weight: { dtype: 'uint8', shape: [outFeatures / 2, inFeatures] },
        weight_scale: { dtype: 'float32', shape: [outFeatures, blocks] },
        ...(inputQuantizer.preQuantScale === undefined
          ? {}
          : { pre_quant_scale: { dtype: 'float32', shape: [inFeatures] } }),
      };
    }
    case 'FP8': {
      if (weightQuantizer.format !== 'float8e4m3fn' || weightQuantizer.axis !== null) {
        mismatch(path, algo, 'per-tensor float8 e4m3fn weights', linear);
      }
      if (
        !inputQuantizer.enabled ||
        inputQuantizer.format !== 'float8e4m3fn' ||
        inputQuantizer.axis !== null ||
        inputQuantizer.blockSize !== undefined
      ) {
        mismatch(path, algo, 'a per-tensor float8 e4m3fn input quantizer', linear);
      }
      const scale = convertToScale(requireAmax(path, 'weight_quantizer', weightQuantizer), 448);
      const inputScale = convertToScale(requireAmax(path, 'input_quantizer', inputQuantizer), 448);
      if (scale.data.length !== 1 || inputScale.data.length !== 1) {
        mismatch(path, algo, 'one weight amax and one input amax', linear);
      }
      return {
        weight: { dtype: 'float8e4m3fn', shape: [outFeatures, inFeatures] },
        weight_scale: { dtype: 'float32', shape: [] },
        input_scale: { dtype: 'float32', shape: [] },
      };
    }
  }
}

/**
 * The exported tensors of one linear, per ModelOpt 0.41's `_export_quantized_weight`:
 *
 * - W8A16: `weight` int8 `[out, in]` = `clamp(rne(W / s[:, None]), -128, 127)`, `weight_scale [out]` = amax / 127;
 * - W4A16_AWQ: codes `clamp(rne(W / s[o, j / 128]), -8, 7)` packed two output rows per byte (uint8
 *   `[out / 2, in]`, row 2r in the low nibble), `weight_scale [out, in / 128]` = amax / 7, and AWQ's
 *   `pre_quant_scale [in]` when the linear has one;
 * - FP8: `weight` float8 e4m3fn `[out, in]` = `e4m3(W / s)` (nearest even, saturating at ±448),
 *   `weight_scale []` and `input_scale []` = amax / 448.
 *
 * `W` is `weight`, by default the linear's `[out, in]` weight as ModelOpt leaves it (AWQ-scaled for
 * int4); every division is in float32, as the runtime's own quantization does, so both make the
 * same codes from the same weight. Refused as `modelOptLinearLayout` refuses.
 */
export function modelOptLinearTensors(
  path: string,
  linear: QuantLinear,
  algo: ModelOptQuantAlgo,
  weight: Tensor = linear.weight,
  /**
   * W8A16 / W4A16_AWQ: the integer codes of `weight`, when the caller has them already; for
   * W4A16_AWQ they may come packed as the export stores them.
   */
  givenCodes?: Int8Array | PackedInt4Codes,
): ModelOptLinearTensors {
  modelOptLinearLayout(path, linear, algo, weight.shape);
  const [outFeatures = 0, inFeatures = 0] = weight.shape;
  const weightQuantizer = linear.weight_quantizer;
  const inputQuantizer = linear.input_quantizer;
  const packedCodes = givenCodes instanceof Int8Array ? undefined : givenCodes?.packedInt4Rows;
  const unpackedCodes = givenCodes instanceof Int8Array ? givenCodes : undefined;
  if (unpackedCodes !== undefined && unpackedCodes.length !== outFeatures * inFeatures) {
    throw new InvalidArgumentError(
      'codes',
      `must hold ${outFeatures * inFeatures} codes, got ${unpackedCodes.length}`,
    );
  }
  if (
    packedCodes !== undefined &&
    (algo !== 'W4A16_AWQ' || packedCodes.length !== (outFeatures / 2) * inFeatures)
  ) {
    throw new InvalidArgumentError(
      'codes',
      algo === 'W4A16_AWQ'
        ? `must hold ${(outFeatures / 2) * inFeatures} packed bytes, got ${packedCodes.length}`
        : `packed int4 codes are for W4A16_AWQ, not ${algo}`,
    );
  }
  const values = () => toFloat32(weight);
  switch (algo) {
    case 'W8A16': {
      const scale = convertToScale(weightQuantizer.amax!, 127).data;
      const codes =
        unpackedCodes ?? quantize(values(), weight.shape, scale, 'int8', { kind: 'per-channel', axis: 0 });
      return {
        weight: createTensor('int8', [outFeatures, inFeatures], codes),
        weight_scale: createTensor('float32', [outFeatures], scale),
      };
    }
    case 'W4A16_AWQ': {
      const blocks = Math.ceil(inFeatures / INT4_GROUP_SIZE);
      // `[out · blocks, 1]` in (out, block) order is `[out, blocks]` row-major: a reshape, no reordering.
      const scale = convertToScale(weightQuantizer.amax!, 7).data;
      const packed =
        packedCodes ??
        packInt4Rows(
          unpackedCodes ??
            quantize(values(), weight.shape, scale, 'int4', {
              kind: 'block',
              blockSize: INT4_GROUP_SIZE,
            }),
          outFeatures,
          inFeatures,
        );
      const preQuantScale = inputQuantizer.preQuantScale;
      return {
        weight: createTensor('uint8', [outFeatures / 2, inFeatures], packed),
        weight_scale: createTensor('float32', [outFeatures, blocks], scale),
        ...(preQuantScale === undefined
          ? {}
          : { pre_quant_scale: createTensor('float32', [inFeatures], toFloat32(preQuantScale)) }),
      };
    }
    case 'FP8': {
      const scale = convertToScale(weightQuantizer.amax!, 448).data;
      const inputScale = convertToScale(inputQuantizer.amax!, 448).data;
      const codes = quantize(values(), weight.shape, scale, 'float8e4m3fn', { kind: 'per-tensor' });
      return {
        weight: createTensor('float8e4m3fn', [outFeatures, inFeatures], codes),
        weight_scale: createTensor('float32', [], scale),
        input_scale: createTensor('float32', [], inputScale),
      };
    }
  }
}
