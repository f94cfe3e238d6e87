import { getSubmodule, namedModules } from '@ptq/module-path';
import { describe, expect, it } from 'vitest';
import type { QuantMode } from '../config';
import { GPT } from './gpt';
import { Linear } from './linear';

const config = { numLayers: 2, numHeads: 4, embeddingSize: 192, vocabSize: 50, blockSize: 16 };

function shapes(model: GPT): Record<string, readonly number[]> {
  return Object.fromEntries([...model.stateDict()].map(([key, tensor]) => [key, tensor.shape]));
}

describe('GPT', () => {
  it('has the nanoGPT module paths', () => {
    const paths = [...namedModules(new GPT(config))].map(([path]) => path);
    expect(paths).toEqual([
      '',
      'transformer.wte',
      'transformer.wpe',
      'transformer.h.0',
      'transformer.h.0.ln_1',
      'transformer.h.0.attn',
      'transformer.h.0.attn.c_attn',
      'transformer.h.0.attn.c_proj',
      'transformer.h.0.ln_2',
      'transformer.h.0.mlp',
      'transformer.h.0.mlp.c_fc',
      'transformer.h.0.mlp.c_proj',
      'transformer.h.1',
      'transformer.h.1.ln_1',
      'transformer.h.1.attn',
      'transformer.h.1.attn.c_attn',
      'transformer.h.1.attn.c_proj',
      'transformer.h.1.ln_2',
      'transformer.h.1.mlp',
      'transformer.h.1.mlp.c_fc',
      'transformer.h.1.mlp.c_proj',
      'transformer.ln_f',
      'lm_head',
    ]);
  });

  it('gives the unquantized model weights [out, in], biases and a tied head', () => {
    const model = new GPT(config);
    const shape = shapes(model);
    expect(shape['transformer.wte.weight']).toEqual([50, 192]);
    expect(shape['transformer.wpe.weight']).toEqual([16, 192]);
    expect(shape['transformer.h.0.attn.c_attn.weight']).toEqual([576, 192]);
    expect(shape['transformer.h.0.attn.c_attn.bias']).toEqual([576]);
    expect(shape['transformer.h.0.mlp.c_fc.weight']).toEqual([768, 192]);
    expect(shape['transformer.h.0.mlp.c_proj.weight']).toEqual([192, 768]);
    expect(shape['lm_head.weight']).toEqual([50, 192]);
    expect(Object.keys(shape).some((key) => key.includes('scale'))).toBe(false);
    expect(Object.keys(shape)).not.toContain('lm_head.bias');
    expect(model.weightsTied).toBe(true);
    expect(model.stateDict().get('lm_head.weight')).toBe(model.stateDict().get('transformer.wte.weight'));
    expect(Object.keys(shape)).toHaveLength(2 + 2 * 12 + 2 + 1);
  });

  it('leaves biases out with bias: false', () => {
    const keys = [...new GPT({ ...config, bias: false }).stateDict().keys()];
    expect(keys.filter((key) => key.endsWith('.bias'))).toEqual([]);
  });

  it.each<[QuantMode, Record<string, readonly number[] | undefined>]>([
    [
      'int8-weight-only',
      {
        'transformer.h.0.attn.c_attn.weight_scale': [576],
        'transformer.h.0.attn.c_proj.weight_scale': [192],
        'transformer.h.1.mlp.c_fc.weight_scale': [768],
        'transformer.h.1.mlp.c_proj.weight_scale': [192],
        'transformer.h.0.attn.c_attn.input_scale': undefined,
        'transformer.h.0.attn.c_attn.pre_quant_scale': undefined,
        'lm_head.weight_scale': undefined,
      },
    ],
    [
      'int4-weight-only',
      {
        // ceil(192 / 128) = 2 blocks along in, the second one partial; ceil(768 / 128) = 6.
        'transformer.h.0.attn.c_attn.weight_scale': [576, 2],
        'transformer.h.0.attn.c_proj.weight_scale': [192, 2],
        'transformer.h.1.mlp.c_fc.weight_scale': [768, 2],
        'transformer.h.1.mlp.c_proj.weight_scale': [192, 6],
        'transformer.h.0.attn.c_attn.pre_quant_scale': [192],
        'transformer.h.1.mlp.c_proj.pre_quant_scale': [768],
        'transformer.h.0.attn.c_attn.input_scale': undefined,
        'lm_head.weight_scale': undefined,
      },
    ],
    [
      'float8',
      {
        'transformer.h.0.attn.c_attn.weight_scale': [],
        'transformer.h.0.attn.c_attn.input_scale': [],
        'transformer.h.1.mlp.c_proj.input_scale': [],
        'transformer.h.0.attn.c_attn.pre_quant_scale': undefined,
        'lm_head.weight_scale': [],
        'lm_head.input_scale': [],
      },
    ],
  ])('%s gives each linear its scales', (quantMode, expected) => {
    const model = new GPT({ ...config, quantMode });
    const shape = shapes(model);
    for (const [key, value] of Object.entries(expected)) {
      expect(shape[key], key).toEqual(value);
    }
    const linear = getSubmodule<Linear>(model, 'transformer.h.0.attn.c_attn');
    expect(linear).toBeInstanceOf(Linear);
    expect(linear.quantDtype).toBe(
      { 'int8-weight-only': 'int8', 'int4-weight-only': 'int4', float8: 'float8e4m3fn' }[quantMode],
    );
    expect(linear.weightQuantDim).toBe(quantMode === 'int8-weight-only' ? 0 : undefined);
    expect(model.lm_head.quantDtype).toBe(quantMode === 'float8' ? 'float8e4m3fn' : undefined);
  });

  it('makes every float tensor in the model dtype', () => {
    const model = new GPT({ ...config, dtype: 'float16', quantMode: 'int4-weight-only' });
    const dtypes = new Set([...model.stateDict().values()].map((tensor) => tensor.dtype));
    expect([...dtypes]).toEqual(['float16']);
  });
});

describe('Linear', () => {
  it('rejects options Tripy does not combine', () => {
    expect(() => new Linear(0, 4)).toThrow(
      'Invalid argument "inFeatures": must be a positive integer, got 0',
    );
    expect(() => new Linear(4, 4, { quantDtype: 'int4', weightQuantDim: 0 })).toThrow(
      'only int8 weights take a quantization axis, and only 0 (one scale per output row); got 0 for int4',
    );
    expect(() => new Linear(4, 4, { quantDtype: 'int8', quantizeInput: true })).toThrow(
      'input fake quantization is only supported for float8 linears',
    );
    expect(() => new Linear(4, 4, { quantDtype: 'int2' as never })).toThrow(
      'must be one of int8, int4, float8e4m3fn or undefined, got int2',
    );
  });

  it('takes a per-tensor int8 scale without weightQuantDim', () => {
    expect(new Linear(4, 6, { quantDtype: 'int8' }).weight_scale?.shape).toEqual([]);
  });
});

describe('ParameterModule', () => {
  it('names the parameters it has when asked for another', () => {
    const linear = new Linear(4, 6, { quantDtype: 'float8e4m3fn' });
    expect(linear.getParameter('input_scale')).toBe(linear.input_scale);
    expect(() => linear.getParameter('pre_quant_scale')).toThrow(
      'Invalid argument "name": Linear has no parameter "pre_quant_scale" (it has weight, bias, weight_scale, input_scale)',
    );
  });
});
