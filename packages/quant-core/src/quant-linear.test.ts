import { createTensor } from '@ptq/tensor';
import { describe, expect, it } from 'vitest';
import { QuantLinear } from './quant-linear';

// A Conv1D weight [in = 2, out = 3]; as ModelOpt's [out, in] it is its transpose.
const conv1dWeight = () => createTensor('float32', [2, 3], new Float32Array([1, 2, 3, 4, 5, 6]));

describe('QuantLinear.fromGraphLayout', () => {
  it('reads the weight as [out, in], transposed once and kept', () => {
    const linear = QuantLinear.fromGraphLayout(conv1dWeight(), undefined);
    expect(linear.inFeatures).toBe(2);
    expect(linear.outFeatures).toBe(3);
    const weight = linear.weight;
    expect(weight.shape).toEqual([3, 2]);
    expect([...weight.data]).toEqual([1, 4, 2, 5, 3, 6]);
    expect(linear.weight).toBe(weight);
    expect(linear.inFeatures).toBe(2);
    expect(linear.outFeatures).toBe(3);
  });

  it('gives the graph the [in, out] weight it was made from until the weight is read or quantized', () => {
    const source = conv1dWeight();
    const linear = QuantLinear.fromGraphLayout(source, undefined);
    expect(linear.graphWeight()).toBe(source);
    linear.weight_quantizer.axis = 0;
    linear.weight_quantizer.amax = createTensor('float32', [3, 1], new Float32Array([127, 127, 127]));
    // Enabled and calibrated: the fake-quantized weight (amax 127 → scale 1: integers stay), [in, out].
    const quantized = linear.graphWeight();
    expect(quantized).not.toBe(source);
    expect(quantized.shape).toEqual([2, 3]);
    expect([...quantized.data]).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('replaces the source when a new weight is set', () => {
    const linear = QuantLinear.fromGraphLayout(conv1dWeight(), undefined);
    linear.weight = createTensor('float32', [3, 2], new Float32Array([0.5, 1, 1.5, 2, 2.5, 3]));
    linear.weight_quantizer.enabled = false;
    linear.invalidate();
    const graph = linear.graphWeight();
    expect(graph.shape).toEqual([2, 3]);
    expect([...graph.data]).toEqual([0.5, 1.5, 2.5, 1, 2, 3]);
  });
});
