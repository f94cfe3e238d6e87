import { type InferenceSession, Tensor as OrtTensor } from 'onnxruntime-node';
import type { GPTConfig } from '../config';
import { pastKeyName, pastValueName, presentKeyName, presentValueName } from '../graph/graph-io';

/** An int64 `[rows, columns]` feed. */
export function int64Matrix(values: BigInt64Array, rows: number, columns: number): OrtTensor {
  return new OrtTensor('int64', values, [rows, columns]);
}

/** The host scalar `num_logits_to_keep` of single-row graphs (0: every position). */
export function logitsToKeepTensor(count: number): OrtTensor {
  return new OrtTensor('int64', BigInt64Array.of(BigInt(count)), []);
}

/** One empty past (no positions yet) per layer, for `rows` rows. */
export function emptyLayers(config: GPTConfig, rows: number): OrtTensor[] {
  const { numLayers, numHeads, embeddingSize, dtype } = config;
  const shape = [rows, numHeads, 0, embeddingSize / numHeads];
  return Array.from({ length: numLayers }, () => emptyCache(dtype, shape));
}

function emptyCache(dtype: GPTConfig['dtype'], shape: number[]): OrtTensor {
  return dtype === 'float16'
    ? new OrtTensor('float16', new Uint16Array(0), shape)
    : new OrtTensor('float32', new Float32Array(0), shape);
}

/** `feeds` with each of `numLayers` layers' cached keys and values as `past_key_values.*`. */
export function withPasts(
  feeds: Record<string, OrtTensor>,
  keys: readonly OrtTensor[],
  values: readonly OrtTensor[],
  numLayers: number,
): Record<string, OrtTensor> {
  for (let layer = 0; layer < numLayers; layer += 1) {
    feeds[pastKeyName(layer)] = keys[layer]!;
    feeds[pastValueName(layer)] = values[layer]!;
  }
  return feeds;
}

/** Each of `numLayers` layers' `present.*` keys and values from a run's outputs. */
export function presentsOf(
  outputs: InferenceSession.OnnxValueMapType,
  numLayers: number,
): [OrtTensor[], OrtTensor[]] {
  const keys: OrtTensor[] = [];
  const values: OrtTensor[] = [];
  for (let layer = 0; layer < numLayers; layer += 1) {
    keys.push(outputs[presentKeyName(layer)] as OrtTensor);
    values.push(outputs[presentValueName(layer)] as OrtTensor);
  }
  return [keys, values];
}
