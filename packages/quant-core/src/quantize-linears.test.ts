import { DEFAULT_MODEL_DIR } from '@ptq/default-model';
import { Conv1D, loadHfGpt2 } from '@ptq/hf-gpt2';
import { getSubmodule } from '@ptq/module-path';
import { createTensor } from '@ptq/tensor';
import { describe, expect, it } from 'vitest';
import { applyAwqScale } from './awq-lite';
import { quantConfigForMode } from './quant-config';
import { QuantLinear } from './quant-linear';
import { quantizeLinears } from './quantize-linears';

/** Whether two arrays hold the same values (a plain loop: deep equality of 262,144 floats is slow). */
function same(left: Float32Array, right: Float32Array): boolean {
  return left.length === right.length && left.every((value, index) => Object.is(value, right[index]));
}

describe('quantizeLinears', () => {
  it('keeps a Conv1D weight as it is until its weight is first read, then transposes it in place', async () => {
    const model = await loadHfGpt2(DEFAULT_MODEL_DIR, { device: 'cpu', onNotice: () => {} });
    const conv1d = getSubmodule<Conv1D>(model, 'transformer.h.0.mlp.c_fc');
    const [inFeatures = 0, outFeatures = 0] = conv1d.weight.shape;
    const copy = conv1d.weight.data.slice();
    const linears = quantizeLinears(model, quantConfigForMode('int8-weight-only'));
    const linear = linears.get('transformer.h.0.mlp.c_fc')!;
    // Its sizes come from the shape, [out, in], without transposing anything.
    expect([linear.outFeatures, linear.inFeatures]).toEqual([outFeatures, inFeatures]);
    const pending = linear.conv1dWeight()!;
    expect(pending).toBe(conv1d.weight.data);
    expect(same(pending, copy)).toBe(true);
    const weight = linear.weight;
    expect(weight.data).toBe(pending);
    expect(weight.data[1]).toBe(copy[outFeatures]);
    expect(weight.data[inFeatures]).toBe(copy[1]);
    expect(linear.conv1dWeight()).toBeUndefined();
    // Read again: not transposed back.
    expect(linear.weight.data[1]).toBe(copy[outFeatures]);

    // Whoever writes [out, in] into the array says so, and nothing is transposed on reading.
    const other = quantizeLinears(
      await loadHfGpt2(DEFAULT_MODEL_DIR, { device: 'cpu', onNotice: () => {} }),
      quantConfigForMode('int8-weight-only'),
    ).get('transformer.h.0.mlp.c_fc')!;
    const array = other.conv1dWeight()!;
    array.set(weight.data);
    other.markTransposed();
    expect(same(other.weight.data, weight.data)).toBe(true);
    // A weight set outright replaces the pending one.
    const third = quantizeLinears(
      await loadHfGpt2(DEFAULT_MODEL_DIR, { device: 'cpu', onNotice: () => {} }),
      quantConfigForMode('int8-weight-only'),
    ).get('transformer.h.0.mlp.c_fc')!;
    third.weight = createTensor('float32', [outFeatures, inFeatures], weight.data.slice());
    expect(third.conv1dWeight()).toBeUndefined();
    expect(same(third.weight.data, weight.data)).toBe(true);
  });

  it('transposes every Conv1D weight to [out, in] in its own array, which the linear owns', async () => {
    const model = await loadHfGpt2(DEFAULT_MODEL_DIR, { device: 'cpu', onNotice: () => {} });
    const originals = new Map(
      model.linearPaths
        .map((path) => [path, getSubmodule<unknown>(model, path)] as const)
        .filter((entry): entry is readonly [string, Conv1D] => entry[1] instanceof Conv1D)
        .map(([path, module]) => [path, { data: module.weight.data, copy: module.weight.data.slice() }]),
    );
    expect(originals.size).toBe(16);
    const linears = quantizeLinears(model, quantConfigForMode('int4-weight-only'));
    for (const [path, { data, copy }] of originals) {
      const linear = linears.get(path)!;
      const [out = 0, inFeatures = 0] = linear.weight.shape;
      // Conv1D holds [in, out]: element (i, o) of the checkpoint is element (o, i) of the linear.
      expect(out * inFeatures).toBe(copy.length);
      for (const [row, column] of [
        [0, 0],
        [out - 1, inFeatures - 1],
        [3, 200],
        [out - 2, 5],
      ] as const) {
        expect(linear.weight.data[row * inFeatures + column]).toBe(copy[column * out + row]);
      }
      let differing = 0;
      for (let row = 0; row < out; row++) {
        for (let column = 0; column < inFeatures; column++) {
          if (linear.weight.data[row * inFeatures + column] !== copy[column * out + row]) differing++;
        }
      }
      expect(differing, path).toBe(0);
      expect(linear.weight.data).toBe(data);
      expect(linear.ownsWeight).toBe(true);
    }
  });
});

describe('applyAwqScale', () => {
  const weight = () => createTensor('float32', [2, 3], Float32Array.of(1, -2, 0.1, 4, 0.3, -6));
  const scale = Float32Array.of(0.5, 3, 0.7);
  // fround(w · s) per input channel, written out.
  const fround = Math.fround;
  const scaled = [
    0.5,
    -6,
    fround(fround(0.1) * fround(0.7)),
    2,
    fround(fround(0.3) * 3),
    fround(-6 * fround(0.7)),
  ];

  it('scales a weight the linear owns in place, and replaces one it may share', () => {
    for (const ownsWeight of [true, false]) {
      const original = weight();
      const linear = new QuantLinear(original, undefined, { ownsWeight });
      linear.weight_quantizer.numBits = 4;
      linear.weight_quantizer.blockSizes = { [-1]: 2 };
      applyAwqScale(linear, scale);
      expect([...linear.weight.data]).toEqual(scaled);
      expect(linear.weight.data === original.data).toBe(ownsWeight);
      if (!ownsWeight) expect([...original.data]).toEqual([1, -2, Math.fround(0.1), 4, Math.fround(0.3), -6]);
      // Blocks of 2 along `in` (the last one partial), amax over the scaled weight.
      expect([...linear.weight_quantizer.amax!.data]).toEqual([
        6,
        Math.abs(scaled[2]!),
        2,
        Math.abs(scaled[5]!),
      ]);
      expect([...linear.input_quantizer.preQuantScale!.data]).toEqual(
        [...scale].map((value) => Math.fround(1 / value)),
      );
    }
  });

  it('refuses a scaled weight holding NaN as amaxPerBlock does, and scales per channel too', () => {
    const linear = new QuantLinear(
      createTensor('float32', [2, 3], Float32Array.of(1, 2, 3, 4, Number.NaN, 6)),
      undefined,
      { ownsWeight: true },
    );
    linear.weight_quantizer.numBits = 4;
    linear.weight_quantizer.blockSizes = { [-1]: 2 };
    expect(() => applyAwqScale(linear, scale)).toThrow('contains NaN at index 4; amax is undefined');
    const perChannel = new QuantLinear(weight(), undefined, { ownsWeight: true });
    perChannel.weight_quantizer.numBits = 8;
    perChannel.weight_quantizer.axis = 0;
    applyAwqScale(perChannel, scale);
    expect([...perChannel.weight.data]).toEqual(scaled);
    expect([...perChannel.weight_quantizer.amax!.data]).toEqual([6, Math.abs(scaled[5]!)]);
  });
});
