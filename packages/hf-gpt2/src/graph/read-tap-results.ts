import { fromOrtTensor } from '@ptq/onnx';
import type { Tensor } from '@ptq/tensor';
import type { InferenceSession, Tensor as OrtTensor } from 'onnxruntime-node';
import type { TapOutputNames } from './gpt2-graph-parts';
import type { NormalizedTap, TapResult } from './taps';

/** The tap results of one session run, read from the outputs the graph named for each tap. */
export function readTapResults(
  taps: readonly NormalizedTap[],
  tapOutputs: ReadonlyMap<string, TapOutputNames>,
  outputs: InferenceSession.ReturnType,
  tokenCount: number,
): Map<string, TapResult> {
  const read = (name: string) => {
    const value = outputs[name];
    if (value === undefined) throw new Error(`onnxruntime returned no output "${name}"`);
    return value;
  };
  const results = new Map<string, TapResult>();
  for (const tap of taps) {
    const names = tapOutputs.get(tap.module)!;
    const result: {
      tokenCount: number;
      absMax?: number;
      absMeanPerChannel?: Float32Array;
      input?: Tensor<'float32'>;
      deviceInput?: OrtTensor;
      weight?: OrtTensor;
      bias?: OrtTensor;
    } = { tokenCount };
    if (names.absMax !== undefined) result.absMax = (read(names.absMax).data as Float32Array)[0]!;
    if (names.absMeanPerChannel !== undefined) {
      result.absMeanPerChannel = Float32Array.from(read(names.absMeanPerChannel).data as Float32Array);
    }
    if (names.input !== undefined) {
      const input = read(names.input);
      if (input.location === 'gpu-buffer') result.deviceInput = input;
      else result.input = fromOrtTensor(input) as Tensor<'float32'>;
    }
    if (names.weight !== undefined) result.weight = read(names.weight);
    if (names.bias !== undefined) result.bias = read(names.bias);
    results.set(tap.module, result);
  }
  return results;
}
