import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { closestNames, editDistance } from './closest-names';

describe('editDistance', () => {
  it.each([
    ['', '', 0],
    ['', 'abc', 3],
    ['kitten', 'sitting', 3],
    ['flaw', 'lawn', 2],
    ['weight', 'wieght', 2],
    ['bias', 'bias', 0],
  ])('%s → %s is %i', (left, right, distance) => {
    expect(editDistance(left, right)).toBe(distance);
    expect(editDistance(right, left)).toBe(distance);
  });

  it('is a metric bounded by the longer length', () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 12 }),
        fc.string({ maxLength: 12 }),
        fc.string({ maxLength: 12 }),
        (a, b, c) => {
          expect(editDistance(a, a)).toBe(0);
          expect(editDistance(a, b)).toBe(editDistance(b, a));
          expect(editDistance(a, c)).toBeLessThanOrEqual(editDistance(a, b) + editDistance(b, c));
          expect(editDistance(a, b)).toBeLessThanOrEqual(Math.max(a.length, b.length));
          expect(editDistance(a, b)).toBeGreaterThanOrEqual(Math.abs(a.length - b.length));
        },
      ),
    );
  });
});

describe('closestNames', () => {
  const names = [
    'transformer.h.0.attn.c_attn.weight',
    'transformer.h.0.attn.c_proj.weight',
    'transformer.wte.weight',
    'lm_head.weight',
  ];

  it('finds typos, closest first', () => {
    expect(closestNames('transformer.h.0.attn.c_atn.weight', names)).toEqual([
      'transformer.h.0.attn.c_attn.weight',
      'transformer.h.0.attn.c_proj.weight',
    ]);
  });

  it('finds the same dotted path under another prefix, both ways, typos included', () => {
    expect(closestNames('h.0.attn.c_attn.weight', names)).toEqual([
      'transformer.h.0.attn.c_attn.weight',
      'transformer.h.0.attn.c_proj.weight',
    ]);
    expect(
      closestNames('transformer.h.0.attn.c_atn.weight', ['h.0.attn.c_attn.weight', 'wte.weight']),
    ).toEqual(['h.0.attn.c_attn.weight']);
    expect(closestNames('model.lm_head.weight', ['lm_head.weight', 'weight', 'wte.weight'])).toEqual([
      'lm_head.weight',
    ]);
  });

  it('finds nothing for an unrelated name and caps the list', () => {
    expect(closestNames('position_ids', names)).toEqual([]);
    expect(closestNames('a', ['b', 'c', 'd', 'e', 'f', 'g'], 3)).toEqual(['b', 'c', 'd']);
  });
});
