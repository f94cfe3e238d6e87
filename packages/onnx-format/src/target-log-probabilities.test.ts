import { InferenceSession, Tensor as OrtTensor } from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { GraphBuilder } from './graph-builder';
import { serializeModel } from './serialize-model';
import { appendTargetLogProbabilities } from './target-log-probabilities';

/** log softmax(row)[target] in float64, the reference. */
function reference(row: Float32Array, target: number): number {
  let maximum = Number.NEGATIVE_INFINITY;
  for (const value of row) maximum = Math.max(maximum, value);
  let sum = 0;
  for (const value of row) sum += Math.exp(value - maximum);
  return row[target]! - maximum - Math.log(sum);
}

async function run(logits: Float32Array, targets: BigInt64Array, shape: [number, number, number]) {
  const builder = new GraphBuilder({ name: 'targets' });
  const input = builder.input('logits', 'float32', ['batch', 'sequence', shape[2]]);
  const picked = builder.input('targets', 'int64', ['batch', 'sequence']);
  builder.output(appendTargetLogProbabilities(builder, input, picked), 'out', 'float32', [
    'batch',
    'sequence',
  ]);
  const session = await InferenceSession.create(serializeModel(builder.build()), {
    executionProviders: ['cpu'],
  });
  try {
    const outputs = await session.run({
      logits: new OrtTensor('float32', logits, shape),
      targets: new OrtTensor('int64', targets, [shape[0], shape[1]]),
    });
    expect(outputs.out!.dims).toEqual([shape[0], shape[1]]);
    return outputs.out!.data as Float32Array;
  } finally {
    await session.release();
  }
}

describe('appendTargetLogProbabilities', () => {
  it('equals a float64 log softmax at the target, GPT-2-sized rows with large negative logits', async () => {
    const shape: [number, number, number] = [2, 3, 50257];
    let state = 7;
    const random = () => {
      state = (state * 1103515245 + 12345) % 2 ** 31;
      return state / 2 ** 31;
    };
    // GPT-2's logits sit far below zero: exp of them alone would underflow float32 to 0.
    const logits = Float32Array.from({ length: shape[0] * shape[1] * shape[2] }, () => -150 + random() * 30);
    const targets = BigInt64Array.of(0n, 50256n, 777n, 12n, 40000n, 3n);
    logits[shape[2] + 50256] = -100; // row 1's target is its clear maximum
    const got = await run(logits, targets, shape);
    for (let row = 0; row < 6; row += 1) {
      const values = logits.subarray(row * shape[2], (row + 1) * shape[2]);
      expect(got[row]).toBeCloseTo(reference(values, Number(targets[row])), 4);
      expect(Number.isFinite(got[row])).toBe(true);
    }
    expect(got[1]).toBeGreaterThan(-1e-3);
  });

  it('gives log(1 / vocab) for a flat row and 0 for a one-hot certain row', async () => {
    const flat = new Float32Array(8).fill(-90);
    const certain = Float32Array.of(-1e4, -1e4, 0, -1e4, -1e4, -1e4, -1e4, -1e4);
    const got = await run(Float32Array.of(...flat, ...certain), BigInt64Array.of(5n, 2n), [1, 2, 8]);
    expect(got[0]).toBeCloseTo(Math.log(1 / 8), 6);
    expect(got[1]).toBe(0);
  });
});
