import { describe, expect, it } from 'vitest';
import { closestName, closestNames } from './did-you-mean';

describe('closestName', () => {
  const names = ['drop', 'experts', 'h', 'ln_f', 'wpe', 'wte'];

  it('suggests the nearest name within two edits, the first one on a tie', () => {
    expect(closestName('hh', names)).toBe('h');
    expect(closestName('wtf', names)).toBe('wte');
    expect(closestName('wp', names)).toBe('wpe');
    expect(closestName('ln_F', names)).toBe('ln_f');
    expect(closestName('expert', names)).toBe('experts');
    expect(closestName('we', names)).toBe('wpe');
  });

  it('suggests nothing when every name is far or shares nothing with the segment', () => {
    expect(closestName('decoder', names)).toBeUndefined();
    expect(closestName('x', names)).toBeUndefined();
    expect(closestName('ab', ['h'])).toBeUndefined();
    expect(closestName('anything', [])).toBeUndefined();
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
