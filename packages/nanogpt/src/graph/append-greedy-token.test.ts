import { createSession } from '@ptq/onnx';
import { GraphBuilder, serializeModel } from '@ptq/onnx-format';
import { Tensor as OrtTensor } from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { appendGreedyToken } from './append-greedy-token';
import { GraphContext } from './graph-context';

/** The greedy token of each row of float32 logits `[rows, vocab]`, through a session of its own on the CPU. */
async function greedyTokens(rows: readonly Float32Array[]): Promise<number[]> {
  const vocab = rows[0]!.length;
  const builder = new GraphBuilder({ name: 'greedy' });
  const context = new GraphContext(builder, 'float32');
  const logits = builder.input('logits', 'float32', ['tokens', vocab]);
  builder.output(appendGreedyToken(context, logits, vocab, 'next_token'), 'next_token', 'int64', [
    'tokens',
    1,
  ]);
  const { session } = await createSession(serializeModel(builder.build()), { device: 'cpu' });
  try {
    const data = new Float32Array(rows.length * vocab);
    rows.forEach((row, index) => {
      data.set(row, index * vocab);
    });
    const outputs = await session.run({ logits: new OrtTensor('float32', data, [rows.length, vocab]) });
    const token = outputs.next_token!;
    expect(token.dims).toEqual([rows.length, 1]);
    return Array.from(token.data as BigInt64Array, Number);
  } finally {
    await session.release();
  }
}

/** The host's rule: the first index of the largest value. */
function hostArgmax(row: Float32Array): number {
  let best = 0;
  row.forEach((value, index) => {
    if (value > row[best]!) best = index;
  });
  return best;
}

describe('appendGreedyToken', () => {
  it('chooses per row, the first of equal maxima', async () => {
    expect(await greedyTokens([Float32Array.of(9, 0, 0, 0), Float32Array.of(0, 5, 1, 5)])).toEqual([0, 1]);
    expect(await greedyTokens([Float32Array.of(-3, -1, -1, -Infinity)])).toEqual([1]);
    expect(await greedyTokens([Float32Array.of(-Infinity, -Infinity, 2, 7)])).toEqual([3]);
    // No maximum: the last token, still inside the vocabulary.
    expect(await greedyTokens([Float32Array.of(Number.NaN, Number.NaN, Number.NaN)])).toEqual([2]);
  });

  it('matches the host argmax over a GPT-2-sized vocabulary', async () => {
    let state = 12345;
    const random = () => {
      state = (state * 1103515245 + 12345) % 2 ** 31;
      return state / 2 ** 31;
    };
    for (const place of [0, 777, 50256]) {
      const row = Float32Array.from({ length: 50257 }, () => random() * 10 - 5);
      row[place] = 6;
      row[40000] = place === 0 ? 6 : row[40000]!; // a tie after the first maximum
      expect(await greedyTokens([Float32Array.from(row, () => 0), row])).toEqual([0, hostArgmax(row)]);
      expect(hostArgmax(row)).toBe(place);
    }
  });
});
