import { describe, expect, it } from 'vitest';
import { matchesWildcard } from './wildcard';

describe('matchesWildcard', () => {
  it('matches ModelOpt config keys against quantizer names like fnmatch', () => {
    expect(matchesWildcard('transformer.h.0.attn.c_attn.weight_quantizer', '*weight_quantizer')).toBe(true);
    expect(matchesWildcard('transformer.h.0.attn.c_attn.input_quantizer', '*weight_quantizer')).toBe(false);
    expect(matchesWildcard('lm_head.weight_quantizer', '*lm_head*')).toBe(true);
    expect(matchesWildcard('transformer.h.0.mlp.c_proj.weight_quantizer', '*lm_head*')).toBe(false);
    expect(matchesWildcard('transformer.h.10.mlp.c_fc.input_quantizer', '*h.1?.mlp*')).toBe(true);
    expect(matchesWildcard('transformer.h.1.mlp.c_fc.input_quantizer', '*h.1?.mlp*')).toBe(false);
    expect(matchesWildcard('a.b', 'a?b')).toBe(true);
  });

  it('treats regular expression characters literally and supports sets', () => {
    expect(matchesWildcard('model.layer(1)', 'model.layer(1)')).toBe(true);
    expect(matchesWildcard('modelXlayer(1)', 'model.layer(1)')).toBe(false);
    expect(matchesWildcard('h.3', 'h.[0-4]')).toBe(true);
    expect(matchesWildcard('h.7', 'h.[0-4]')).toBe(false);
    expect(matchesWildcard('h.7', 'h.[!0-4]')).toBe(true);
    expect(matchesWildcard('a[b', 'a[b')).toBe(true);
  });
});
