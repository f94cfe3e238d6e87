import type { QuantMode } from '@ptq/nanogpt';
import { type CheckedTensorReader, exactTensor, formatShape, type TensorExpectation } from '@ptq/safetensors';
import { createTensor, isFloatDType, type Tensor, toFloat32, transposeMatrix } from '@ptq/tensor';
import { checkScaleValues, codesZeroAt } from './check-scale-values';
import { dequantizeModelOptWeight } from './dequantize-modelopt-weight';
import { CheckpointTensorError } from './errors';
import type { LinearSlot } from './modelopt-linear-layout';
import { INT4_GROUP_SIZE, type ModelOptQuantAlgo } from './modelopt-quant-algo';

function sameShape(left: readonly number[], right: readonly number[]): boolean {
  return left.length === right.length && left.every((size, index) => size === right[index]);
}

/** A float scale of `shape`; a single scale may also be stored as `[1]` (ModelOpt's `export_amax` does). */
function scaleOf(shape: readonly number[]): TensorExpectation {
  return {
    description: `a float scale ${formatShape(shape)}`,
    accepts: (found, foundShape) =>
      found !== undefined &&
      isFloatDType(found) &&
      (sameShape(foundShape, shape) || (shape.length === 0 && sameShape(foundShape, [1]))),
  };
}

async function readScale(
  reader: CheckedTensorReader,
  name: string,
  shape: readonly number[],
): Promise<Float32Array> {
  return toFloat32(await reader.read(name, scaleOf(shape)));
}

/** See `checkScaleValues`: names the tensor and the file it is in. */
function checkScale(
  reader: CheckedTensorReader,
  name: string,
  values: Float32Array,
  zeroAllowedAt?: (index: number) => boolean,
): void {
  checkScaleValues(reader.fileOf(name), name, values, zeroAllowedAt);
}

async function readQuantizedLinear(
  reader: CheckedTensorReader,
  slot: LinearSlot,
  algo: ModelOptQuantAlgo,
  state: Map<string, Tensor>,
): Promise<void> {
  const { path, outFeatures, inFeatures } = slot;
  const shape = [outFeatures, inFeatures];
  const weightName = `${path}.weight`;
  let weight: Float32Array;
  switch (algo) {
    case 'W8A16': {
      const scale = await readScale(reader, `${path}.weight_scale`, [outFeatures]);
      const codes = await reader.read(weightName, exactTensor('int8', shape, ' (W8A16)'));
      checkScale(reader, `${path}.weight_scale`, scale, codesZeroAt(algo, codes, outFeatures, inFeatures));
      weight = dequantizeModelOptWeight(algo, codes, scale, outFeatures, inFeatures);
      state.set(`${path}.weight_scale`, createTensor('float32', [outFeatures], scale));
      break;
    }
    case 'W4A16_AWQ': {
      const blocks = Math.ceil(inFeatures / INT4_GROUP_SIZE);
      const scale = await readScale(reader, `${path}.weight_scale`, [outFeatures, blocks]);
      const packed = await reader.read(
        weightName,
        exactTensor(
          'uint8',
          [outFeatures / 2, inFeatures],
          ' (W4A16_AWQ: int4 codes, two output rows per byte)',
        ),
      );
      checkScale(reader, `${path}.weight_scale`, scale, codesZeroAt(algo, packed, outFeatures, inFeatures));
      weight = dequantizeModelOptWeight(algo, packed, scale, outFeatures, inFeatures);
      state.set(`${path}.weight_scale`, createTensor('float32', [outFeatures, blocks], scale));
      const preQuantName = `${path}.pre_quant_scale`;
      // Folded into the LayerNorm before it by the export: the runtime multiplies by ones instead.
      let preQuantScale: Float32Array = new Float32Array(inFeatures).fill(1);
      if (reader.has(preQuantName) || !slot.foldable) {
        preQuantScale = await reader.readFloat(preQuantName, [inFeatures], 'an AWQ pre_quant_scale');
        checkScale(reader, preQuantName, preQuantScale);
      }
      state.set(preQuantName, createTensor('float32', [inFeatures], preQuantScale));
      break;
    }
    case 'FP8': {
      const scale = await readScale(reader, `${path}.weight_scale`, []);
      const inputScale = await readScale(reader, `${path}.input_scale`, []);
      const codes = await reader.read(weightName, exactTensor('float8e4m3fn', shape, ' (FP8)'));
      checkScale(reader, `${path}.weight_scale`, scale, codesZeroAt(algo, codes, outFeatures, inFeatures));
      checkScale(reader, `${path}.input_scale`, inputScale);
      weight = dequantizeModelOptWeight(algo, codes, scale, outFeatures, inFeatures);
      state.set(`${path}.weight_scale`, createTensor('float32', [], scale));
      state.set(`${path}.input_scale`, createTensor('float32', [], inputScale));
      break;
    }
  }
  state.set(weightName, createTensor('float32', shape, weight));
}

/** Reads one linear of `slot` into `state`, quantized (per `algo`) or float, with its bias. */
export async function readLinear(
  reader: CheckedTensorReader,
  slot: LinearSlot,
  algo: ModelOptQuantAlgo,
  mode: QuantMode,
  state: Map<string, Tensor>,
): Promise<void> {
  const { path, outFeatures, inFeatures } = slot;
  const scaleName = `${path}.weight_scale`;
  const storedQuantized = reader.has(scaleName);
  if (storedQuantized !== slot.quantized) {
    const why = storedQuantized
      ? `the checkpoint quantizes ${path}, which ptq's ${mode} runtime keeps in float`
      : `ptq's ${mode} runtime quantizes ${path}` +
        (path === 'lm_head'
          ? " (as the Tripy example does; ModelOpt's own FP8 preset leaves lm_head in float)"
          : '');
    throw new CheckpointTensorError(
      reader.fileOf(scaleName),
      scaleName,
      storedQuantized ? `is present, but ${why}` : `is missing: ${why}`,
    );
  }
  if (slot.quantized) {
    await readQuantizedLinear(reader, slot, algo, state);
  } else if (path === 'lm_head') {
    // Absent when tied to the embedding (de-duplicated on export).
    if (reader.has('lm_head.weight')) {
      const weight = await reader.readFloat('lm_head.weight', [outFeatures, inFeatures]);
      state.set('lm_head.weight', createTensor('float32', [outFeatures, inFeatures], weight));
    }
  } else {
    // An unquantized Conv1D keeps Hugging Face's [in, out].
    const weight = await reader.readFloat(
      `${path}.weight`,
      slot.conv1d ? [inFeatures, outFeatures] : [outFeatures, inFeatures],
    );
    const outIn = slot.conv1d ? transposeMatrix(weight, inFeatures, outFeatures) : weight;
    state.set(`${path}.weight`, createTensor('float32', [outFeatures, inFeatures], outIn));
  }
  if (path !== 'lm_head') {
    state.set(
      `${path}.bias`,
      createTensor('float32', [outFeatures], await reader.readFloat(`${path}.bias`, [outFeatures])),
    );
  }
}
