import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Module, setSubmodule } from '@ptq/module-path';
import { createTensor, type Tensor } from '@ptq/tensor';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { referenceForward } from './__fixtures__/reference-gpt2';
import {
  referenceWeights,
  TINY_REFERENCE_CONFIG,
  tinyWeights,
  writeTinyCheckpoint,
} from './__fixtures__/tiny-gpt2';
import { NotGraphLinearError } from './errors';
import type { GPT2LMHeadModel } from './gpt2-lm-head-model';
import type { GraphLinear } from './graph-linear';
import { loadHfGpt2 } from './load-hf-gpt2';
import type { Conv1D } from './modules/conv1d';

const weights = tinyWeights(3);
const reference = referenceWeights(weights);
const PAD = 49;
let folder: string;
let model: GPT2LMHeadModel;

beforeAll(async () => {
  folder = await mkdtemp(path.join(tmpdir(), 'hf-gpt2-forward-'));
  await writeTinyCheckpoint(folder, weights);
  model = await loadHfGpt2(folder, { device: 'cpu' });
});
afterAll(async () => {
  await model.dispose();
  await rm(folder, { recursive: true, force: true });
});

function batch(rows: readonly (readonly number[])[]): Tensor<'int64'> {
  return createTensor('int64', [rows.length, rows[0]!.length], BigInt64Array.from(rows.flat(), BigInt));
}

/** Left-pads rows with EOS to one length; returns ids, mask and the rows as numbers. */
function leftPadded(rows: readonly (readonly number[])[]) {
  const length = Math.max(...rows.map((row) => row.length));
  const ids = rows.map((row) => [...Array(length - row.length).fill(PAD), ...row]);
  const mask = rows.map((row) => [...Array(length - row.length).fill(0), ...row.map(() => 1)]);
  return { ids, mask, inputIds: batch(ids), attentionMask: batch(mask) };
}

function logitsAt(logits: Tensor<'float32'>, row: number, position: number): Float32Array {
  const [, sequence = 0, vocab = 0] = logits.shape;
  const start = (row * sequence + position) * vocab;
  return logits.data.subarray(start, start + vocab);
}

function maxAbsDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let max = 0;
  for (let index = 0; index < a.length; index++) max = Math.max(max, Math.abs(a[index]! - b[index]!));
  return max;
}

const ROWS = [
  [3, 17, 42, 8, 8, 1, 30, 49, 12, 5, 26],
  [40, 41, 45, 47, 27],
  [0, 1, 2],
];

describe('GPT2LMHeadModel.forward', () => {
  it('matches an independent float64 GPT-2 on every real token of a left-padded batch', async () => {
    const { ids, mask, inputIds, attentionMask } = leftPadded(ROWS);
    const { logits } = await model.forward(inputIds, attentionMask);
    expect(logits!.shape).toEqual([3, 11, 50]);
    expect(model.device).toBe('cpu');
    const expected = referenceForward(TINY_REFERENCE_CONFIG, reference, ids, mask);
    let worst = 0;
    let spread = 0;
    ids.forEach((row, b) => {
      row.forEach((_, p) => {
        if (mask[b]![p] === 0) return;
        const want = expected.logits[b]![p]!;
        worst = Math.max(worst, maxAbsDifference(logitsAt(logits!, b, p), want));
        spread = Math.max(spread, Math.max(...want) - Math.min(...want));
      });
    });
    expect(worst).toBeLessThan(1e-4);
    // The comparison means something only if the logits are far from constant.
    expect(spread).toBeGreaterThan(1);
    expect(logits!.data.every(Number.isFinite)).toBe(true);
  });

  it('gives a left-padded row the logits of the same row unpadded', async () => {
    const { inputIds, attentionMask } = leftPadded(ROWS);
    const padded = (await model.forward(inputIds, attentionMask)).logits!;
    for (const [row, tokens] of ROWS.entries()) {
      const alone = (await model.forward(batch([tokens]), batch([tokens.map(() => 1)]))).logits!;
      const offset = 11 - tokens.length;
      for (let position = 0; position < tokens.length; position++) {
        expect(
          maxAbsDifference(logitsAt(padded, row, offset + position), logitsAt(alone, 0, position)),
        ).toBeLessThan(1e-4);
      }
    }
  });

  it('takes positions from the mask: padding in the middle is skipped, not counted', async () => {
    const tokens = [5, 6, 7, 8];
    const alone = (await model.forward(batch([tokens]), batch([[1, 1, 1, 1]]))).logits!;
    const gapped = (await model.forward(batch([[5, 6, PAD, 7, 8]]), batch([[1, 1, 0, 1, 1]]))).logits!;
    expect(maxAbsDifference(logitsAt(gapped, 0, 4), logitsAt(alone, 0, 3))).toBeLessThan(1e-4);
  });

  it('reports taps computed over real tokens only, matching the reference', async () => {
    const { ids, mask, inputIds, attentionMask } = leftPadded(ROWS);
    const modules = [
      'transformer.h.0.attn.c_attn',
      'transformer.h.0.attn.c_proj',
      'transformer.h.1.mlp.c_proj',
      'lm_head',
    ];
    const { logits, taps } = await model.forward(inputIds, attentionMask, {
      taps: modules.map((module) => ({ module, absMax: true, absMeanPerChannel: true, input: true })),
      logits: false,
    });
    expect(logits).toBeUndefined();
    const expected = referenceForward(TINY_REFERENCE_CONFIG, reference, ids, mask);
    const realCount = mask.flat().filter((value) => value === 1).length;
    for (const module of modules) {
      const result = taps.get(module)!;
      const rows: Float64Array[] = [];
      ids.forEach((row, b) => {
        row.forEach((_, p) => {
          if (mask[b]![p] === 1) rows.push(expected.linearInputs.get(module)![b]![p]!);
        });
      });
      const width = rows[0]!.length;
      expect(result.tokenCount).toBe(realCount);
      expect(result.input!.shape).toEqual([realCount, width]);
      expect(
        maxAbsDifference(
          result.input!.data,
          rows.flatMap((row) => [...row]),
        ),
      ).toBeLessThan(1e-4);
      const absMax = Math.max(...rows.flatMap((row) => [...row].map(Math.abs)));
      expect(Math.abs(result.absMax! - absMax)).toBeLessThan(1e-4);
      const absMean = Array.from(
        { length: width },
        (_, c) => rows.reduce((sum, row) => sum + Math.abs(row[c]!), 0) / rows.length,
      );
      expect(result.absMeanPerChannel!.length).toBe(width);
      expect(maxAbsDifference(result.absMeanPerChannel!, absMean)).toBeLessThan(1e-5);
    }
  });

  it('leaves pad rows out of the reductions even when they hold the largest values', async () => {
    // Row 1 is all padding; its (garbage) activations must not move absMax / absMean.
    const tokens = [1, 2, 3];
    const alone = await model.forward(batch([tokens]), batch([[1, 1, 1]]), {
      taps: [{ module: 'transformer.h.1.mlp.c_fc', absMax: true, absMeanPerChannel: true }],
      logits: false,
    });
    const withPadRow = await model.forward(
      batch([tokens, [40, 41, 42]]),
      batch([
        [1, 1, 1],
        [0, 0, 0],
      ]),
      {
        taps: [{ module: 'transformer.h.1.mlp.c_fc', absMax: true, absMeanPerChannel: true }],
        logits: false,
      },
    );
    const a = alone.taps.get('transformer.h.1.mlp.c_fc')!;
    const b = withPadRow.taps.get('transformer.h.1.mlp.c_fc')!;
    expect(b.tokenCount).toBe(3);
    expect(Math.abs(a.absMax! - b.absMax!)).toBeLessThan(1e-5);
    expect(maxAbsDifference(a.absMeanPerChannel!, b.absMeanPerChannel!)).toBeLessThan(1e-5);
  });

  it('merges tap requests on one module and returns only what was asked', async () => {
    const { taps, logits } = await model.forward(batch([[1, 2]]), batch([[1, 1]]), {
      taps: [
        { module: 'lm_head', absMax: true },
        { module: 'lm_head', absMeanPerChannel: true },
      ],
    });
    expect(logits!.shape).toEqual([1, 2, 50]);
    const result = taps.get('lm_head')!;
    expect(Object.keys(result).sort()).toEqual(['absMax', 'absMeanPerChannel', 'tokenCount']);
  });

  it('returns log p(target) per position, equal to a float64 log-softmax of the logits', async () => {
    const { inputIds, attentionMask } = leftPadded(ROWS);
    const targets = createTensor(
      'int64',
      inputIds.shape,
      inputIds.data.map((_, index) => BigInt((index * 7) % 50)),
    );
    const { logits, targetLogProbabilities } = await model.forward(inputIds, attentionMask, { targets });
    expect(targetLogProbabilities!.shape).toEqual([3, 11]);
    let worst = 0;
    for (let row = 0; row < 3; row++) {
      for (let position = 0; position < 11; position++) {
        const values = [...logitsAt(logits!, row, position)];
        const max = Math.max(...values);
        const logSum = max + Math.log(values.reduce((sum, value) => sum + Math.exp(value - max), 0));
        const target = Number(targets.data[row * 11 + position]);
        worst = Math.max(
          worst,
          Math.abs(targetLogProbabilities!.data[row * 11 + position]! - (values[target]! - logSum)),
        );
      }
    }
    expect(worst).toBeLessThan(1e-5);
    const alone = await model.forward(inputIds, attentionMask, { targets, logits: false });
    expect(alone.logits).toBeUndefined();
    expect(alone.targetLogProbabilities!.data).toEqual(targetLogProbabilities!.data);
  });

  it('returns nothing and runs nothing when asked for neither logits nor taps', async () => {
    const result = await model.forward(batch([[1]]), batch([[1]]), { logits: false });
    expect(result.logits).toBeUndefined();
    expect(result.taps.size).toBe(0);
  });
});

/** A GraphLinear as quant-core will write them: scaled input, fake-quantized input, its own weight. */
class ScaledLinear extends Module implements GraphLinear {
  constructor(
    readonly inner: Conv1D,
    readonly preQuantScale: Float32Array | undefined,
    readonly inputQuantizer: { format: 'float8e4m3fn' | 'int8'; scale: number } | undefined,
  ) {
    super();
  }
  get inFeatures() {
    return this.inner.inFeatures;
  }
  get outFeatures() {
    return this.inner.outFeatures;
  }
  get bias() {
    return this.inner.bias;
  }
  graphWeight() {
    return this.inner.weight;
  }
  graphPreQuantScale() {
    return this.preQuantScale;
  }
  graphInputQuantizer() {
    return this.inputQuantizer;
  }
}

describe('GPT2LMHeadModel module replacement', () => {
  it('rebuilds the graph when a linear is replaced, applying pre-quant scale then int8 input fake-quant', async () => {
    const path = 'transformer.h.1.attn.c_attn';
    const original = model.linear(path) as Conv1D;
    const { ids, mask, inputIds, attentionMask } = leftPadded(ROWS.slice(0, 2));
    const before = (await model.forward(inputIds, attentionMask)).logits!;
    const scale = Float32Array.from({ length: 64 }, (_, c) => 0.5 + (c % 5) * 0.25);
    setSubmodule(model, path, new ScaledLinear(original, scale, { format: 'int8', scale: 0.05 }));
    try {
      const after = (await model.forward(inputIds, attentionMask)).logits!;
      const roundHalfEven = (value: number) => {
        const floor = Math.floor(value);
        const fraction = value - floor;
        return fraction < 0.5 ? floor : fraction > 0.5 ? floor + 1 : floor % 2 === 0 ? floor : floor + 1;
      };
      const expected = referenceForward(TINY_REFERENCE_CONFIG, reference, ids, mask, {
        transformInput: (where, x) =>
          where === path
            ? x.map(
                (value, c) => Math.min(127, Math.max(-128, roundHalfEven((value * scale[c]!) / 0.05))) * 0.05,
              )
            : x,
      });
      const real = ids
        .flatMap((row, b) => row.map((_, p) => [b, p] as const))
        .filter(([b, p]) => mask[b]![p] === 1);
      let worst = 0;
      let moved = 0;
      for (const [b, p] of real) {
        worst = Math.max(worst, maxAbsDifference(logitsAt(after, b, p), expected.logits[b]![p]!));
        moved = Math.max(moved, maxAbsDifference(logitsAt(after, b, p), logitsAt(before, b, p)));
      }
      // int8 rounding can flip at a boundary between float32 and float64, so a looser bound than 1e-4.
      expect(worst).toBeLessThan(2e-3);
      expect(moved).toBeGreaterThan(0.05);
    } finally {
      setSubmodule(model, path, original);
    }
    const restored = (await model.forward(inputIds, attentionMask)).logits!;
    expect(maxAbsDifference(restored.data, before.data)).toBe(0);
  });

  it('sees a reassigned weight tensor, and in-place edits after invalidate()', async () => {
    const lnF = model.transformer.ln_f;
    const original = lnF.bias;
    const input = [batch([[4, 5, 6]]), batch([[1, 1, 1]])] as const;
    const before = (await model.forward(...input)).logits!;
    lnF.bias = createTensor(
      'float32',
      [64],
      original.data.map((value) => value + 1),
    );
    const shifted = (await model.forward(...input)).logits!;
    expect(maxAbsDifference(shifted.data, before.data)).toBeGreaterThan(0.1);
    lnF.bias = original;
    expect(maxAbsDifference((await model.forward(...input)).logits!.data, before.data)).toBe(0);

    const saved = original.data[0]!;
    original.data[0] = saved + 5;
    await model.invalidate();
    expect(maxAbsDifference((await model.forward(...input)).logits!.data, before.data)).toBeGreaterThan(0.01);
    original.data[0] = saved;
    await model.invalidate();
    expect(maxAbsDifference((await model.forward(...input)).logits!.data, before.data)).toBe(0);
  });

  it('refuses to build when a linear path holds something that is not a GraphLinear', async () => {
    const original = model.transformer.h[0]!.mlp.c_fc;
    setSubmodule(model, 'transformer.h.0.mlp.c_fc', new Module());
    try {
      await expect(model.forward(batch([[1]]), batch([[1]]))).rejects.toBeInstanceOf(NotGraphLinearError);
    } finally {
      setSubmodule(model, 'transformer.h.0.mlp.c_fc', original);
    }
  });
});

describe('GPT2LMHeadModel.forward bad input', () => {
  const ok = batch([[1, 2]]);
  const ones = batch([[1, 1]]);
  it.each([
    ['float ids', () => model.forward(createTensor('float32', [1, 2]) as never, ok), /inputIds.*int64/],
    [
      'rank-1 mask',
      () => model.forward(ok, createTensor('int64', [2], BigInt64Array.of(1n, 1n))),
      /attentionMask.*\[batch, sequence\]/,
    ],
    ['mismatched shapes', () => model.forward(ok, batch([[1, 1, 1]])), /differs from inputIds/],
    [
      'empty batch',
      () => model.forward(createTensor('int64', [0, 2]), createTensor('int64', [0, 2])),
      /at least one row/,
    ],
    [
      'id out of range',
      () => model.forward(batch([[1, 50]]), batch([[1, 1]])),
      /token id 50 at \[0, 1\] is outside \[0, 50\)/,
    ],
    ['negative id', () => model.forward(batch([[-1, 2]]), batch([[1, 1]])), /token id -1/],
    ['mask value 2', () => model.forward(ok, batch([[1, 2]])), /value 2 at \[0, 1\] is not 0 or 1/],
    [
      'too many real tokens',
      () => model.forward(batch([Array(33).fill(1)]), batch([Array(33).fill(1)])),
      /33 real tokens, more than n_positions 32/,
    ],
    [
      'unknown tap module',
      () => model.forward(ok, ones, { taps: [{ module: 'transformer.h.0.attn', absMax: true }] }),
      /not a linear of this model/,
    ],
    [
      'targets of another shape',
      () => model.forward(ok, ones, { targets: batch([[1]]) }),
      /targets.*\[1, 2\]/,
    ],
    [
      'target out of range',
      () => model.forward(ok, ones, { targets: batch([[1, 99]]) }),
      /token id 99 at flat index 1/,
    ],
    [
      'tap asking nothing',
      () => model.forward(ok, ones, { taps: [{ module: 'lm_head' }] }),
      /asks for nothing/,
    ],
  ])('refuses %s with a typed error', async (_, call, message) => {
    await expect(call()).rejects.toThrow(
      expect.objectContaining({ code: 'PTQ_INVALID_ARGUMENT', message: expect.stringMatching(message) }),
    );
  });

  it('accepts up to n_positions real tokens in a longer, left-padded row', async () => {
    const ids = [...Array(8).fill(PAD), ...Array(32).fill(3)];
    const mask = [...Array(8).fill(0), ...Array(32).fill(1)];
    const { logits } = await model.forward(batch([ids]), batch([mask]));
    expect(logits!.shape).toEqual([1, 40, 50]);
  });
});
