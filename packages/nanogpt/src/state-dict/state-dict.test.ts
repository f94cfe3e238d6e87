import { createTensor, type Tensor } from '@ptq/tensor';
import { describe, expect, it } from 'vitest';
import { StateDictError } from '../errors';
import { GPT } from '../modules/gpt';

const config = { numLayers: 1, numHeads: 2, embeddingSize: 256, vocabSize: 10, blockSize: 8 };

function filled(shape: number[], value: number): Tensor {
  return createTensor('float32', shape, new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(value));
}

/** A state dict with every key of `model`, each a fresh tensor of its shape filled with its index. */
function freshStateDict(model: GPT): Map<string, Tensor> {
  const result = new Map<string, Tensor>();
  [...model.stateDict()].forEach(([key, tensor], index) => {
    result.set(key, filled([...tensor.shape], index + 1));
  });
  return result;
}

function errorOf(action: () => unknown): StateDictError {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(StateDictError);
    return error as StateDictError;
  }
  throw new Error('expected a StateDictError');
}

describe('stateDict', () => {
  it('lists keys in module order, with int4 scales', () => {
    const keys = [...new GPT({ ...config, quantMode: 'int4-weight-only' }).stateDict().keys()];
    expect(keys).toEqual([
      'transformer.wte.weight',
      'transformer.wpe.weight',
      'transformer.h.0.ln_1.weight',
      'transformer.h.0.ln_1.bias',
      'transformer.h.0.attn.c_attn.weight',
      'transformer.h.0.attn.c_attn.bias',
      'transformer.h.0.attn.c_attn.weight_scale',
      'transformer.h.0.attn.c_attn.pre_quant_scale',
      'transformer.h.0.attn.c_proj.weight',
      'transformer.h.0.attn.c_proj.bias',
      'transformer.h.0.attn.c_proj.weight_scale',
      'transformer.h.0.attn.c_proj.pre_quant_scale',
      'transformer.h.0.ln_2.weight',
      'transformer.h.0.ln_2.bias',
      'transformer.h.0.mlp.c_fc.weight',
      'transformer.h.0.mlp.c_fc.bias',
      'transformer.h.0.mlp.c_fc.weight_scale',
      'transformer.h.0.mlp.c_fc.pre_quant_scale',
      'transformer.h.0.mlp.c_proj.weight',
      'transformer.h.0.mlp.c_proj.bias',
      'transformer.h.0.mlp.c_proj.weight_scale',
      'transformer.h.0.mlp.c_proj.pre_quant_scale',
      'transformer.ln_f.weight',
      'transformer.ln_f.bias',
      'lm_head.weight',
    ]);
  });
});

describe('loadStateDict', () => {
  it('replaces every parameter and keeps its own state dict round-tripping', () => {
    const model = new GPT({ ...config, quantMode: 'float8' });
    const source = freshStateDict(model);
    source.set('lm_head.weight', source.get('transformer.wte.weight')!);
    expect(model.loadStateDict(source)).toEqual({ missingKeys: [], unexpectedKeys: [] });
    for (const [key, tensor] of model.stateDict()) {
      expect(tensor, key).toBe(source.get(key));
    }
    expect(model.weightsTied).toBe(true);
    const other = new GPT({ ...config, quantMode: 'float8' });
    other.loadStateDict(model.stateDict());
    expect(other.transformer.h[0]!.attn.c_attn.input_scale).toBe(
      source.get('transformer.h.0.attn.c_attn.input_scale'),
    );
  });

  it('accepts a plain record', () => {
    const model = new GPT(config);
    const record = Object.fromEntries(freshStateDict(model));
    model.loadStateDict(record);
    expect(model.transformer.ln_f.bias).toBe(record['transformer.ln_f.bias']);
  });

  it('keeps the head tied when lm_head.weight is left out, and unties it for a tensor of its own', () => {
    const model = new GPT(config);
    const source = freshStateDict(model);
    source.delete('lm_head.weight');
    model.loadStateDict(source);
    expect(model.lm_head.weight).toBe(source.get('transformer.wte.weight'));
    expect(model.weightsTied).toBe(true);

    const separate = filled([10, 256], 0.5);
    model.loadStateDict({ ...Object.fromEntries(source), 'lm_head.weight': separate });
    expect(model.weightsTied).toBe(false);
    expect(model.lm_head.weight).toBe(separate);
    // Once untied, the head is a parameter like any other: leaving it out is missing.
    const error = errorOf(() => model.loadStateDict(source));
    expect(error.problems).toEqual([
      { kind: 'missing', key: 'lm_head.weight', message: 'missing key "lm_head.weight"' },
    ]);
  });

  it('lists every problem at once and changes nothing', () => {
    const model = new GPT({ ...config, quantMode: 'int8-weight-only' });
    const before = model.stateDict();
    const source = new Map([...freshStateDict(model)].reverse());
    source.delete('transformer.h.0.mlp.c_fc.bias');
    source.delete('transformer.h.0.ln_2.weight');
    source.set('transformer.h.0.attn.bias', filled([1, 1, 8, 8], 1));
    source.set('h.0.ln_1.weight', filled([256], 1));
    source.set('transformer.h.0.attn.c_proj.weight_scale', filled([256, 1], 1));
    source.set('transformer.ln_f.weight', createTensor('float16', [256]));
    source.set('transformer.wpe.weight', createTensor('float16', [4, 256]));
    source.set('transformer.h.0.attn.c_attn.weight', filled([256, 768], 1));
    source.set('transformer.h.0.attn.c_attn.bias', {
      dtype: 'float32',
      shape: [768],
      data: new Float32Array(3),
    } as Tensor);
    source.set('transformer.h.0.mlp.c_proj.bias', 'nope' as unknown as Tensor);
    const error = errorOf(() => model.loadStateDict(source));
    expect(error.code).toBe('PTQ_STATE_DICT');
    // Unknown keys, then missing keys, then mismatches, each in model order.
    expect(error.problems.map((problem) => problem.kind)).toEqual([
      'unexpected',
      'unexpected',
      'missing',
      'missing',
      'shape',
      'dtype',
      'shape',
      'invalid',
      'shape',
      'invalid',
      'dtype',
    ]);
    expect(error.message).toBe(
      [
        'state dict does not fit the GPT model (11 problems):',
        '  - unexpected key "transformer.h.0.attn.bias"',
        '  - unexpected key "h.0.ln_1.weight" (did you mean "transformer.h.0.ln_1.weight"?)',
        '  - missing key "transformer.h.0.ln_2.weight"',
        '  - missing key "transformer.h.0.mlp.c_fc.bias"',
        `  - "transformer.wpe.weight": shape [4, 256] does not match the model's [8, 256]`,
        `  - "transformer.wpe.weight": dtype float16 does not match the model's float32`,
        `  - "transformer.h.0.attn.c_attn.weight": shape [256, 768] does not match the model's [768, 256] (it looks transposed: Hugging Face Conv1D stores [in, out], the model wants [out, in])`,
        '  - "transformer.h.0.attn.c_attn.bias" is not a valid tensor: Invalid argument "data": a float32 tensor of shape [768] needs 768 storage elements, got 3',
        `  - "transformer.h.0.attn.c_proj.weight_scale": shape [256, 1] does not match the model's [256] (int8 per-channel scales [out])`,
        '  - "transformer.h.0.mlp.c_proj.bias" is not a tensor ({ dtype, shape, data })',
        `  - "transformer.ln_f.weight": dtype float16 does not match the model's float32`,
      ].join('\n'),
    );
    for (const [key, tensor] of model.stateDict()) {
      expect(tensor, key).toBe(before.get(key));
    }
  });

  it('returns unknown and missing keys with strict: false, and still refuses mismatches', () => {
    const model = new GPT(config);
    const source = freshStateDict(model);
    source.delete('transformer.ln_f.bias');
    source.set('transformer.h.0.attn.masked_bias', filled([], 1));
    expect(model.loadStateDict(source, { strict: false })).toEqual({
      missingKeys: ['transformer.ln_f.bias'],
      unexpectedKeys: ['transformer.h.0.attn.masked_bias'],
    });
    expect(model.transformer.ln_f.weight).toBe(source.get('transformer.ln_f.weight'));
    source.set('transformer.ln_f.weight', filled([3], 1));
    const error = errorOf(() => model.loadStateDict(source, { strict: false }));
    expect(error.problems).toHaveLength(1);
    expect(error.problems[0]!.kind).toBe('shape');
  });

  it('rejects int4 block scales in the scrambled [out / 128, in] layout, naming [out, in / 128]', () => {
    // c_attn: weight [768, 256]; ModelOpt's scales [768, 2]; reshape(-1, in_features) gives [6, 256].
    const model = new GPT({ ...config, quantMode: 'int4-weight-only' });
    const source = freshStateDict(model);
    source.set('transformer.h.0.attn.c_attn.weight_scale', filled([6, 256], 0.01));
    const error = errorOf(() => model.loadStateDict(source));
    expect(error.problems).toHaveLength(1);
    expect(error.problems[0]!.message).toBe(
      `"transformer.h.0.attn.c_attn.weight_scale": shape [6, 256] does not match the model's [768, 2]` +
        ' (int4 block scales [out, ceil(in / 128)], blocks of 128 along in); [6, 256] is the [out / 128, in]' +
        ' layout of reshape(-1, in_features), which gives weights the scales of other blocks: pass' +
        " ModelOpt's [out, in / 128] layout, [768, 2], where weight_scale[o, b] scales weight[o, 128·b … 128·b + 127]",
    );
    // Even when the element counts agree, the layout is refused: [out, in/128] has 768·2 = 1536 values, as has [6, 256].
    expect(6 * 256).toBe(768 * 2);
  });

  it('takes an int4 or int8 linear weight as its int8 codes, checking int4 range, and no other weight as codes', () => {
    const codes = (shape: number[], fill: (index: number) => number) =>
      createTensor(
        'int8',
        shape,
        Int8Array.from({ length: shape[0]! * shape[1]! }, (_, index) => fill(index)),
      );
    const int4 = new GPT({ ...config, quantMode: 'int4-weight-only' });
    const given = freshStateDict(int4);
    const held = codes([768, 256], (index) => (index % 16) - 8);
    given.set('transformer.h.0.attn.c_attn.weight', held);
    int4.loadStateDict(given);
    expect(int4.transformer.h[0]!.attn.c_attn.weight).toBe(held);

    for (const [element, code] of [
      [700, 8],
      [5, -9],
      [196607, 127],
    ] as const) {
      given.set(
        'transformer.h.0.attn.c_attn.weight',
        codes([768, 256], (index) => (index === element ? code : 7)),
      );
      const outside = errorOf(() => int4.loadStateDict(given));
      expect(outside.problems.map((problem) => problem.message)).toEqual([
        `"transformer.h.0.attn.c_attn.weight": code ${code} at element ${element} is outside int4's range`,
      ]);
    }
    // int8 codes take any int8 value; an unquantized model takes no codes at all.
    const int8 = new GPT({ ...config, quantMode: 'int8-weight-only' });
    const int8Given = freshStateDict(int8);
    int8Given.set(
      'transformer.h.0.mlp.c_fc.weight',
      codes([1024, 256], (index) => (index % 256) - 128),
    );
    int8.loadStateDict(int8Given);
    const plain = new GPT(config);
    const plainGiven = freshStateDict(plain);
    plainGiven.set(
      'transformer.h.0.mlp.c_fc.weight',
      codes([1024, 256], () => 1),
    );
    expect(errorOf(() => plain.loadStateDict(plainGiven)).problems.map((problem) => problem.kind)).toEqual([
      'dtype',
    ]);
  });
});
