import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { argmax, sampleToken, topKIndices } from './sampling';

/** A random source that returns the given numbers in turn. */
function fixed(...values: number[]) {
  let index = 0;
  return () => values[index++ % values.length]!;
}

describe('argmax', () => {
  it('takes the lowest index on a tie', () => {
    expect(argmax(Float32Array.of(1, 5, 5, -2))).toBe(1);
    expect(argmax(Float32Array.of(-3))).toBe(0);
  });
});

describe('topKIndices', () => {
  it('matches a full sort (value descending, then index ascending)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: -5, max: 5 }), { minLength: 1, maxLength: 40 }),
        fc.integer({ min: 1, max: 45 }),
        (values, k) => {
          const logits = Float32Array.from(values);
          const sorted = [...logits.keys()].sort((a, b) => logits[b]! - logits[a]! || a - b);
          expect(topKIndices(logits, k)).toEqual(sorted.slice(0, k));
        },
      ),
    );
  });
});

describe('sampleToken', () => {
  it('draws from softmax(logits / T) by cumulative probability', () => {
    // softmax([0, ln 3]) = [0.25, 0.75].
    const logits = Float32Array.of(0, Math.log(3));
    expect(sampleToken(logits, { temperature: 1, random: fixed(0.2) })).toBe(0);
    expect(sampleToken(logits, { temperature: 1, random: fixed(0.3) })).toBe(1);
    // At T = 2 the weights are [1, √3]: p0 = 1 / (1 + √3) ≈ 0.366.
    expect(sampleToken(logits, { temperature: 2, random: fixed(0.36) })).toBe(0);
    expect(sampleToken(logits, { temperature: 2, random: fixed(0.37) })).toBe(1);
  });

  it('keeps only the top k, most likely first', () => {
    // Top 2 of [1, 3, 2, 3] are indices 1 and 3 (equal logits): each 0.5.
    const logits = Float32Array.of(1, 3, 2, 3);
    expect(sampleToken(logits, { temperature: 1, topK: 2, random: fixed(0.49) })).toBe(1);
    expect(sampleToken(logits, { temperature: 1, topK: 2, random: fixed(0.51) })).toBe(3);
    expect(sampleToken(logits, { temperature: 5, topK: 1, random: fixed(0.99) })).toBe(1);
    expect(sampleToken(logits, { temperature: 1, topK: 10, random: fixed(0.999999) })).toBe(3);
  });

  it('follows the distribution over many draws (property: frequencies near probabilities)', () => {
    let state = 12345;
    const random = () => {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      return state / 2 ** 32;
    };
    const logits = Float32Array.of(0, 1, 2);
    const counts = [0, 0, 0];
    for (let draw = 0; draw < 20_000; draw += 1)
      counts[sampleToken(logits, { temperature: 1, random })]! += 1;
    const total = 1 + Math.E + Math.E ** 2;
    expect(counts[0]! / 20_000).toBeCloseTo(1 / total, 1);
    expect(counts[2]! / 20_000).toBeCloseTo(Math.E ** 2 / total, 1);
  });
});
