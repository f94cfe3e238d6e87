import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_MODEL_DIR } from '@ptq/default-model';
import { InvalidArgumentError } from '@ptq/errors';
import { createTensor, transposeTensor } from '@ptq/tensor';
import { describe, expect, it } from 'vitest';
import type { GPT2LMHeadModel } from '../gpt2-lm-head-model';
import { loadHfGpt2 } from '../load-hf-gpt2';
import type { Conv1D } from '../modules/conv1d';
import { Linear } from '../modules/linear';
import { buildGpt2BlockGraph } from './build-gpt2-block-graph';
import { embedBatch, embedRowSumInto } from './embed-batch';
import { type BlockHiddenState, Gpt2BlockSession } from './gpt2-block-session';
import type { Gpt2GraphSource } from './gpt2-graph-parts';
import type { TapRequest } from './taps';
import { validateBatch } from './validate-batch';

// Two left-padded rows: pad positions must be excluded exactly as the whole-model graph does.
const tokens = [
  [5, 17, 300, 41, 9, 1000, 2, 8],
  [0, 0, 0, 77, 1200, 64, 3, 4],
];
const maskValues = [1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 1, 1, 1, 1];
const ids = createTensor('int64', [2, 8], BigInt64Array.from(tokens.flat().map(BigInt)));
const mask = createTensor('int64', [2, 8], BigInt64Array.from(maskValues.map(BigInt)));

/** The module tree's view a block graph is built from. */
function graphSource(model: GPT2LMHeadModel): Gpt2GraphSource {
  return { config: model.config, transformer: model.transformer, linear: (path) => model.linear(path) };
}

/** The linears a block's session taps: the block's four, and lm_head with the last block. */
function blockLinearPaths(model: GPT2LMHeadModel, layer: number): string[] {
  const last = model.config.n_layer - 1;
  return model.linearPaths.filter(
    (path) => path.startsWith(`transformer.h.${layer}.`) || (layer === last && path === 'lm_head'),
  );
}

describe('Gpt2BlockSession', () => {
  it('chained block by block, gives the whole-model taps bit for bit (every linear, lm_head included)', async () => {
    const model = await loadHfGpt2(DEFAULT_MODEL_DIR, { device: 'cpu', onNotice: () => {} });
    const everything = (module: string): TapRequest => ({
      module,
      absMax: true,
      absMeanPerChannel: true,
      input: true,
    });
    const whole = await model.forward(ids, mask, { taps: model.linearPaths.map(everything), logits: false });
    const source = graphSource(model);
    const { realTokenIndices } = validateBatch(model.config, ids, mask);
    let hidden: BlockHiddenState = embedBatch(model.transformer, ids, mask);
    const last = model.config.n_layer - 1;
    let compared = 0;
    for (let layer = 0; layer <= last; layer++) {
      const paths = blockLinearPaths(model, layer);
      const session = await Gpt2BlockSession.open(source, layer, paths.map(everything), {
        device: 'cpu',
        final: layer === last,
      });
      const result = await session.run({ ...hidden, attentionMask: mask, realTokenIndices });
      await session.release();
      for (const path of paths) {
        const expected = whole.taps.get(path)!;
        const actual = result.taps.get(path)!;
        expect(actual.tokenCount).toBe(13);
        expect(actual.absMax, path).toBe(expected.absMax);
        expect(actual.input!.shape).toEqual(expected.input!.shape);
        expect(
          Buffer.from(actual.input!.data.buffer).equals(Buffer.from(expected.input!.data.buffer)),
          path,
        ).toBe(true);
        expect([...actual.absMeanPerChannel!], path).toEqual([...expected.absMeanPerChannel!]);
        compared++;
      }
      if (layer < last) hidden = result.next!;
      else expect(result.next).toBeUndefined();
    }
    expect(compared).toBe(4 * model.config.n_layer + 1);
  }, 120_000);

  it("gives back each linear's weight [out, in] and bias as the graph holds them, bit for bit", async () => {
    const model = await loadHfGpt2(DEFAULT_MODEL_DIR, { device: 'cpu', onNotice: () => {} });
    const source = graphSource(model);
    const paths = model.linearPaths.filter((path) => path.startsWith('transformer.h.1.'));
    const session = await Gpt2BlockSession.open(
      source,
      1,
      paths.map((module) => ({ module, weight: true })),
      { device: 'cpu' },
    );
    const { realTokenIndices } = validateBatch(model.config, ids, mask);
    const result = await session.run({
      ...embedBatch(model.transformer, ids, mask),
      attentionMask: mask,
      realTokenIndices,
    });
    await session.release();
    expect(paths).toHaveLength(4);
    for (const path of paths) {
      const linear = model.linear(path);
      // GPT-2's Conv1D holds W as [in, out]; the tap gives [out, in].
      const conv = linear as unknown as { weight: { data: Float32Array } };
      const found = result.taps.get(path)!;
      expect(found.weight!.dims, path).toEqual([linear.outFeatures, linear.inFeatures]);
      const weight = found.weight!.data as Float32Array;
      let differing = 0;
      for (let row = 0; row < linear.outFeatures; row++) {
        for (let column = 0; column < linear.inFeatures; column++) {
          const expected = conv.weight.data[column * linear.outFeatures + row]!;
          if (!Object.is(weight[row * linear.inFeatures + column], expected)) differing++;
        }
      }
      expect(differing, path).toBe(0);
      expect([...(found.bias!.data as Float32Array)], path).toEqual([...linear.bias!.data]);
      expect(found.input).toBeUndefined();
    }
  });

  it('refuses a number of head groups that does not divide the heads', async () => {
    const model = await loadHfGpt2(DEFAULT_MODEL_DIR, { device: 'cpu', onNotice: () => {} });
    for (const groups of [0, 3, 1.5]) {
      expect(() =>
        buildGpt2BlockGraph(graphSource(model), { layer: 0, taps: [], attentionHeadGroups: groups }),
      ).toThrow(/attentionHeadGroups.*divisor of n_head \(4\)/);
    }
  });

  it('refuses a block outside the model, and ln_f after any but the last', async () => {
    const model = await loadHfGpt2(DEFAULT_MODEL_DIR, { device: 'cpu', onNotice: () => {} });
    const source = graphSource(model);
    expect(() => buildGpt2BlockGraph(source, { layer: model.config.n_layer, taps: [] })).toThrow(
      InvalidArgumentError,
    );
    expect(() => buildGpt2BlockGraph(source, { layer: -1, taps: [] })).toThrow(/block index in \[0, 4\)/);
    expect(() => buildGpt2BlockGraph(source, { layer: 1, final: true, taps: [] })).toThrow(
      /last block \(3\) only/,
    );
  });
  it('with its weights as inputs and its attention in groups of heads computes what the graph with its weights in it computes, bit for bit', async () => {
    const model = await loadHfGpt2(DEFAULT_MODEL_DIR, { device: 'cpu', onNotice: () => {} });
    // An nn.Linear ([out, in]) in place of a Conv1D: fed as it is, the graph transposes it.
    const conv = model.transformer.h[0]!.mlp.c_fc as Conv1D;
    model.transformer.h[0]!.mlp.c_fc = new Linear(transposeTensor(conv.weight), conv.bias);
    const source = graphSource(model);
    const { realTokenIndices } = validateBatch(model.config, ids, mask);
    const last = model.config.n_layer - 1;
    const everything = (module: string): TapRequest => ({ module, absMax: true, input: true, weight: true });
    const chain = async (weightsAsInputs: boolean, attentionHeadGroups = 1) => {
      let hidden: BlockHiddenState = embedBatch(model.transformer, ids, mask);
      const taps = new Map<string, Float32Array[]>();
      for (let layer = 0; layer <= last; layer++) {
        const paths = blockLinearPaths(model, layer);
        const session = await Gpt2BlockSession.open(source, layer, paths.map(everything), {
          device: 'cpu',
          final: layer === last,
          weightsAsInputs,
          attentionHeadGroups,
          // onnxruntime's CPU MatMul prepacks a weight it holds and sums in another order than over
          // a weight it is fed; without prepacking both run the same kernel.
          sessionOptions: { extra: { session: { disable_prepacking: '1' } } },
        });
        const result = await session.run({ ...hidden, attentionMask: mask, realTokenIndices });
        await session.release();
        for (const path of paths) {
          const found = result.taps.get(path)!;
          const weight = found.weight === undefined ? [] : [found.weight.data as Float32Array];
          taps.set(path, [Float32Array.of(found.absMax!), found.input!.data, ...weight]);
        }
        if (result.next !== undefined) hidden = result.next;
      }
      return taps;
    };
    const inGraph = await chain(false);
    // Attention in groups of heads runs every head's products as before: the same values too.
    const asInputs = await chain(true, model.config.n_head);
    expect([...asInputs.keys()]).toEqual([...inGraph.keys()]);
    for (const [path, values] of inGraph) {
      for (const [index, value] of values.entries()) {
        expect(
          Buffer.from(asInputs.get(path)![index]!.buffer).equals(Buffer.from(value.buffer)),
          `${path} ${index}`,
        ).toBe(true);
      }
    }
  });
});

describe('embedBatch', () => {
  it('gathers wte rows of the ids and wpe rows at max(cumsum(mask) − 1, 0)', async () => {
    const model = await loadHfGpt2(DEFAULT_MODEL_DIR, { device: 'cpu', onNotice: () => {} });
    const width = model.config.n_embd;
    const { residual, delta } = embedBatch(model.transformer, ids, mask);
    expect(residual.shape).toEqual([2, 8, width]);
    // Row 1 is padded by three: its positions are 0, 0, 0, 0, 1, 2, 3, 4.
    const positions = [0, 1, 2, 3, 4, 5, 6, 7, 0, 0, 0, 0, 1, 2, 3, 4];
    for (let index = 0; index < 16; index++) {
      const token = tokens.flat()[index]!;
      expect([...residual.data.subarray(index * width, (index + 1) * width)]).toEqual([
        ...model.transformer.wte.weight.data.subarray(token * width, (token + 1) * width),
      ]);
      const position = positions[index]!;
      expect([...delta.data.subarray(index * width, (index + 1) * width)]).toEqual([
        ...model.transformer.wpe.weight.data.subarray(position * width, (position + 1) * width),
      ]);
    }
  });
  it("embedRowSumInto writes each row as the float32 sum of embedBatch's two gathers, to the bit", async () => {
    const model = await loadHfGpt2(DEFAULT_MODEL_DIR, { device: 'cpu', onNotice: () => {} });
    const width = model.config.n_embd;
    const { residual, delta } = embedBatch(model.transformer, ids, mask);
    for (const row of [0, 1]) {
      const target = new Float32Array(8 * width).fill(Number.NaN);
      embedRowSumInto(model.transformer, ids, mask, row, target);
      const expected = Float32Array.from({ length: 8 * width }, (_, at) =>
        Math.fround(residual.data[row * 8 * width + at]! + delta.data[row * 8 * width + at]!),
      );
      expect(target).toEqual(expected);
    }
  });
  it('takes session options of its caller: a profile enabled there is written when the session is released', async () => {
    const model = await loadHfGpt2(DEFAULT_MODEL_DIR, { device: 'cpu', onNotice: () => {} });
    const folder = mkdtempSync(join(tmpdir(), 'ptq-block-profile-'));
    try {
      const session = await Gpt2BlockSession.open(graphSource(model), 0, [], {
        device: 'cpu',
        sessionOptions: { enableProfiling: true, profileFilePrefix: join(folder, 'block') },
      });
      const { realTokenIndices } = validateBatch(model.config, ids, mask);
      await session.run({
        ...embedBatch(model.transformer, ids, mask),
        attentionMask: mask,
        realTokenIndices,
      });
      const [file] = readdirSync(folder);
      // onnxruntime holds the events until the profile ends: the file is empty while the session is open.
      expect(readFileSync(join(folder, file!), 'utf8')).toBe('');
      await session.release();
      const events = JSON.parse(readFileSync(join(folder, file!), 'utf8')) as {
        cat?: string;
        args?: { op_name?: string };
      }[];
      // The block's own nodes ran under the profile: its LayerNorms and the attention's Softmax.
      const ops = new Set(events.filter((event) => event.cat === 'Node').map((event) => event.args?.op_name));
      expect(ops.has('LayerNormalization')).toBe(true);
      expect(ops.has('Softmax')).toBe(true);
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });
});
