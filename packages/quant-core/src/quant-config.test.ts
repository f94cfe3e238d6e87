import { describe, expect, it } from 'vitest';
import { type QuantMode, quantConfigForMode, UnknownQuantModeError } from './quant-config';
import { configureQuantizer } from './quantize-linears';
import { TensorQuantizer } from './tensor-quantizer';

function resolve(mode: QuantMode, name: string): TensorQuantizer {
  const quantizer = new TensorQuantizer();
  configureQuantizer(quantizer, name, quantConfigForMode(mode));
  return quantizer;
}

describe('quantConfigForMode', () => {
  it('int8 weight-only: per-output-channel int8 weights, inputs off, lm_head excluded', () => {
    const weight = resolve('int8-weight-only', 'transformer.h.3.mlp.c_fc.weight_quantizer');
    expect([weight.enabled, weight.format, weight.axis, weight.maxbound]).toEqual([true, 'int8', 0, 127]);
    expect(resolve('int8-weight-only', 'transformer.h.3.mlp.c_fc.input_quantizer').enabled).toBe(false);
    expect(resolve('int8-weight-only', 'lm_head.weight_quantizer').enabled).toBe(false);
    expect(resolve('int8-weight-only', 'transformer.h.3.mlp.c_fc.output_quantizer').enabled).toBe(false);
  });

  it('int4 weight-only: blocks of 128 along in, AWQ-lite, lm_head excluded', () => {
    const config = quantConfigForMode('int4-weight-only');
    expect(config.algorithm).toEqual({ method: 'awq_lite', alphaStep: 0.1 });
    const weight = resolve('int4-weight-only', 'transformer.h.0.attn.c_attn.weight_quantizer');
    expect([weight.enabled, weight.format, weight.blockSize, weight.maxbound]).toEqual([
      true,
      'int4',
      128,
      7,
    ]);
    expect(resolve('int4-weight-only', 'transformer.h.0.attn.c_attn.input_quantizer').enabled).toBe(false);
    expect(resolve('int4-weight-only', 'lm_head.weight_quantizer').enabled).toBe(false);
  });

  it('float8: per-tensor e4m3 weights and inputs, lm_head included (the exclusion is removed)', () => {
    for (const name of ['transformer.h.1.attn.c_proj', 'lm_head']) {
      const weight = resolve('float8', `${name}.weight_quantizer`);
      const input = resolve('float8', `${name}.input_quantizer`);
      expect([weight.enabled, weight.format, weight.axis, weight.maxbound]).toEqual([
        true,
        'float8e4m3fn',
        null,
        448,
      ]);
      expect([input.enabled, input.format, input.axis]).toEqual([true, 'float8e4m3fn', null]);
    }
    expect(resolve('float8', 'lm_head.output_quantizer').enabled).toBe(false);
  });

  it('rejects an unknown mode, naming the known ones', () => {
    expect(() => quantConfigForMode('int2' as QuantMode)).toThrow(UnknownQuantModeError);
    expect(() => quantConfigForMode('int2' as QuantMode)).toThrow(
      'Invalid argument "quantMode": unknown quantization mode "int2"; use one of int8-weight-only, int4-weight-only, float8',
    );
  });

  it('applies `default` first, then matching patterns in order, each entry replacing the attributes', () => {
    const quantizer = new TensorQuantizer();
    configureQuantizer(quantizer, 'transformer.h.0.mlp.c_fc.weight_quantizer', {
      quantCfg: [
        ['*weight_quantizer', { numBits: 4, blockSizes: { [-1]: 64 } }],
        ['*h.0.*', { enable: false }],
        ['default', { enable: true, numBits: 8 }],
      ],
      algorithm: 'max',
    });
    // `default` applies first whatever its position; `*h.0.*` then replaces everything: disabled, defaults.
    expect([quantizer.enabled, quantizer.numBits, quantizer.blockSize]).toEqual([false, 8, undefined]);
    configureQuantizer(quantizer, 'transformer.h.1.mlp.c_fc.weight_quantizer', {
      quantCfg: [['*weight_quantizer', { numBits: 4, blockSizes: { [-1]: 64 } }]],
      algorithm: 'max',
    });
    expect([quantizer.enabled, quantizer.numBits, quantizer.blockSize]).toEqual([true, 4, 64]);
  });
});
