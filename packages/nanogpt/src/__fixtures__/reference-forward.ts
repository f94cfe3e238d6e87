// An independent float64 forward of a GPT's weights, written from the GPT-2 definition, for tests.
// It shares no code with the graph builder: its own positions, masking, LayerNorm, gelu_new, attention.
import { float8E4M3FNBitsToFloat32, float32ToFloat8E4M3FNBits, toFloat32 } from '@ptq/tensor';
import type { GPT } from '../modules/gpt';
import type { Linear } from '../modules/linear';

/** A linear's weight as the test wants it used: row-major [out, in] in float64. */
export type WeightOf = (path: string, linear: Linear) => Float64Array;

export interface ReferenceOptions {
  /** Default: the float weight as stored. */
  readonly weightOf?: WeightOf;
  /** Apply float8 input fake quantization where a linear has `input_scale` (default true). */
  readonly quantizeInputs?: boolean;
  /** Sees every value of a real (unmasked) token that goes through float8 input fake quantization. */
  readonly onFakeQuant?: (value: number, scale: number) => void;
}

/**
 * How far `value / scale` lies from the nearest e4m3fn rounding boundary (a midpoint between
 * neighbouring values), relative to its magnitude. A float32 forward and this float64 one differ by
 * about 1e-6 relative, so a value closer than that may round to another code in the graph.
 */
export function float8TieDistance(value: number, scale: number): number {
  const magnitude = Math.abs(value / scale);
  if (magnitude >= 448 || magnitude === 0) return Number.POSITIVE_INFINITY;
  const code = float32ToFloat8E4M3FNBits(magnitude);
  const at = float8E4M3FNBitsToFloat32(code);
  const below = code > 0 ? float8E4M3FNBitsToFloat32(code - 1) : -at;
  const above = code < 0x7e ? float8E4M3FNBitsToFloat32(code + 1) : Number.POSITIVE_INFINITY;
  return Math.min(Math.abs(magnitude - (at + below) / 2), Math.abs(magnitude - (at + above) / 2)) / magnitude;
}

function f64(tensor: Parameters<typeof toFloat32>[0]): Float64Array {
  return Float64Array.from(toFloat32(tensor));
}

/** e4m3(x / s) · s through the JS codec, as TensorRT would do it with a float32 quotient. */
export function float8FakeQuant(value: number, scale: number): number {
  const code = float32ToFloat8E4M3FNBits(Math.fround(value / scale));
  return float8E4M3FNBitsToFloat32(code) * scale;
}

function layerNorm(
  x: Float64Array,
  weight: Float64Array,
  bias: Float64Array | undefined,
  epsilon: number,
): Float64Array {
  const n = x.length;
  let mean = 0;
  for (const value of x) mean += value;
  mean /= n;
  let variance = 0;
  for (const value of x) variance += (value - mean) ** 2;
  variance /= n;
  const inverse = 1 / Math.sqrt(variance + epsilon);
  return x.map((value, index) => (value - mean) * inverse * weight[index]! + (bias?.[index] ?? 0));
}

function geluNew(value: number): number {
  return 0.5 * value * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (value + 0.044715 * value ** 3)));
}

/**
 * Logits [rows][positions][vocab] of every position; positions whose mask is 0 are left empty
 * (their values are not defined by the model).
 */
export function referenceForward(
  model: GPT,
  ids: readonly (readonly number[])[],
  mask: readonly (readonly number[])[],
  options: ReferenceOptions = {},
): (Float64Array | undefined)[][] {
  const { config } = model;
  const { embeddingSize: width, numHeads, vocabSize, layerNormEpsilon: epsilon } = config;
  const headSize = width / numHeads;
  const quantizeInputs = options.quantizeInputs ?? true;
  const weightCache = new Map<string, Float64Array>();
  const weightOf = (path: string, linear: Linear) => {
    let weight = weightCache.get(path);
    if (weight === undefined) {
      weight = options.weightOf?.(path, linear) ?? f64(linear.weight);
      weightCache.set(path, weight);
    }
    return weight;
  };
  const applyLinear = (path: string, linear: Linear, input: Float64Array, real = true): Float64Array => {
    let x = input;
    if (linear.pre_quant_scale !== undefined) {
      const scale = f64(linear.pre_quant_scale);
      x = x.map((value, index) => value * scale[index]!);
    }
    if (linear.input_scale !== undefined && quantizeInputs) {
      const scale = f64(linear.input_scale)[0]!;
      x = x.map((value) => {
        if (real) options.onFakeQuant?.(value, scale);
        return float8FakeQuant(value, scale);
      });
    }
    const weight = weightOf(path, linear);
    const bias = linear.bias === undefined ? undefined : f64(linear.bias);
    const out = new Float64Array(linear.outFeatures);
    for (let o = 0; o < linear.outFeatures; o += 1) {
      let sum = bias?.[o] ?? 0;
      for (let j = 0; j < linear.inFeatures; j += 1) sum += x[j]! * weight[o * linear.inFeatures + j]!;
      out[o] = sum;
    }
    return out;
  };
  const norm = (module: {
    weight: Parameters<typeof toFloat32>[0];
    bias: Parameters<typeof toFloat32>[0] | undefined;
  }) => ({
    weight: f64(module.weight),
    bias: module.bias === undefined ? undefined : f64(module.bias),
  });

  const wte = f64(model.transformer.wte.weight);
  const wpe = f64(model.transformer.wpe.weight);
  return ids.map((row, rowIndex) => {
    const rowMask = mask[rowIndex]!;
    // Position of a real token = real tokens before it.
    const positions: number[] = [];
    let seen = 0;
    for (const bit of rowMask) {
      positions.push(seen);
      seen += bit;
    }
    let hidden = row.map((token, index) => {
      const vector = new Float64Array(width);
      for (let d = 0; d < width; d += 1) {
        vector[d] = wte[token * width + d]! + wpe[positions[index]! * width + d]!;
      }
      return vector;
    });
    model.transformer.h.forEach((block, layer) => {
      const prefix = `transformer.h.${layer}`;
      const ln1 = norm(block.ln_1);
      const qkv = hidden.map((x, index) =>
        applyLinear(
          `${prefix}.attn.c_attn`,
          block.attn.c_attn,
          layerNorm(x, ln1.weight, ln1.bias, epsilon),
          rowMask[index] === 1,
        ),
      );
      const attended = hidden.map((_, query) => {
        const output = new Float64Array(width);
        if (rowMask[query] === 0) return output;
        for (let head = 0; head < numHeads; head += 1) {
          const scores: number[] = [];
          const keys: number[] = [];
          for (let key = 0; key <= query; key += 1) {
            if (rowMask[key] === 0) continue;
            let dot = 0;
            for (let d = 0; d < headSize; d += 1) {
              dot += qkv[query]![head * headSize + d]! * qkv[key]![width + head * headSize + d]!;
            }
            scores.push(dot / Math.sqrt(headSize));
            keys.push(key);
          }
          const maximum = Math.max(...scores);
          const weights = scores.map((score) => Math.exp(score - maximum));
          const total = weights.reduce((sum, weight) => sum + weight, 0);
          keys.forEach((key, index) => {
            for (let d = 0; d < headSize; d += 1) {
              output[head * headSize + d]! +=
                (weights[index]! / total) * qkv[key]![2 * width + head * headSize + d]!;
            }
          });
        }
        return output;
      });
      hidden = hidden.map((x, index) => {
        const projected = applyLinear(
          `${prefix}.attn.c_proj`,
          block.attn.c_proj,
          attended[index]!,
          rowMask[index] === 1,
        );
        return x.map((value, d) => value + projected[d]!);
      });
      const ln2 = norm(block.ln_2);
      hidden = hidden.map((x, index) => {
        const real = rowMask[index] === 1;
        const normed = layerNorm(x, ln2.weight, ln2.bias, epsilon);
        const expanded = applyLinear(`${prefix}.mlp.c_fc`, block.mlp.c_fc, normed, real);
        const down = applyLinear(`${prefix}.mlp.c_proj`, block.mlp.c_proj, expanded.map(geluNew), real);
        return x.map((value, d) => value + down[d]!);
      });
    });
    const lnf = norm(model.transformer.ln_f);
    return hidden.map((x, index) => {
      if (rowMask[index] === 0) return undefined;
      const logits = applyLinear('lm_head', model.lm_head, layerNorm(x, lnf.weight, lnf.bias, epsilon));
      if (logits.length !== vocabSize) throw new Error('vocab mismatch');
      return logits;
    });
  });
}
