import { DEFAULT_MODEL_DIR, readHeldOutText } from '@ptq/default-model';
import { type Conv1D, loadHfGpt2, residentWeights, type WeightResidence } from '@ptq/hf-gpt2';
import {
  buildSegmentGraph,
  compile,
  GPT,
  type GPTSegments,
  holdsCodes,
  type ScoredWindow,
  scoreWindowsBySegments,
  segmentRanges,
  type WeightFormat,
} from '@ptq/nanogpt';
import { modelOptQuantize } from '@ptq/quant-core';
import { createTensor, transposeTensor } from '@ptq/tensor';
import { describe, expect, it } from 'vitest';
import { gptConfigFromHf } from './gpt-config-from-hf';
import { quantizedStateToRuntime } from './load-quant-weights-from-hf';
import { hfStateToRuntime } from './load-weights-from-hf';
import { hfRuntimeSegments, quantizedRuntimeSegments } from './runtime-segments';

const load = (weights: WeightResidence = 'in-memory') =>
  loadHfGpt2(DEFAULT_MODEL_DIR, { device: 'cpu', onNotice: () => {}, weights });

async function heldOutWindow(): Promise<ScoredWindow> {
  const hf = await load();
  const encoded = hf.tokenizer!.encode(await readHeldOutText()).slice(0, 128);
  const ids = BigInt64Array.from(encoded, BigInt);
  const next = new BigInt64Array(ids.length);
  next.set(ids.subarray(1));
  return { ids, next };
}

/** The whole compiled graph's log-probabilities of one window. */
async function wholeGraph(model: GPT, { ids, next }: ScoredWindow): Promise<Float32Array> {
  const compiled = await compile(model, { device: 'cpu' });
  try {
    const shape = [1, ids.length];
    return (
      await compiled.targetLogProbabilities(
        createTensor('int64', shape, ids),
        createTensor('int64', shape, next),
      )
    ).data;
  } finally {
    await compiled.release();
  }
}

describe('runtime segments', () => {
  it('of the HF model: one block at a time, the whole runtime model’s scores bit for bit', async () => {
    const hf = await load();
    const window = await heldOutWindow();
    const whole = new GPT(gptConfigFromHf(hf.config));
    whole.loadStateDict(hfStateToRuntime(hf, 'float32'), { strict: true });
    const segments = hfRuntimeSegments(hf, 'float32');
    expect(segments.config).toEqual(whole.config);
    const [scored] = await scoreWindowsBySegments(segments, [window], { device: 'cpu', segmentBytes: 1 });
    expect(scored).toEqual(await wholeGraph(whole, window));

    // A middle segment makes its own block's weights only: the embeddings stay untouched zeros.
    const middle = await segments.segment({ start: 1, end: 2 });
    expect(middle.config.numLayers).toBe(1);
    expect(middle.transformer.h[0]!.attn.c_attn.weight.data).toEqual(
      transposeTensor((hf.transformer.h[1]!.attn.c_attn as Conv1D).weight).data,
    );
    expect(middle.transformer.wte.weight.data.every((value) => value === 0)).toBe(true);
  });

  it('of an HF model read on demand: the same scores, and each segment’s weights dropped after it', async () => {
    const hf = await load('on-demand');
    const window = await heldOutWindow();
    // The whole model's state copied, so reading it later reads nothing of the HF model again.
    const state = new Map(
      [...hfStateToRuntime(hf, 'float32')].map(([key, tensor]) => [
        key,
        createTensor(tensor.dtype, tensor.shape, tensor.data.slice()),
      ]),
    );
    const whole = new GPT(gptConfigFromHf(hf.config));
    whole.loadStateDict(state, { strict: true });
    const expected = await wholeGraph(whole, window);
    expect(residentWeights(hf)).not.toEqual([]);
    const segments = hfRuntimeSegments(hf, 'float32');
    const first = await segments.segment({ start: 0, end: 1 });
    expect(residentWeights(hf)).toEqual([]);
    expect(first.transformer.h[0]!.attn.c_attn.weight.data).toEqual(
      state.get('transformer.h.0.attn.c_attn.weight')!.data,
    );
    const [scored] = await scoreWindowsBySegments(segments, [window], { device: 'cpu', segmentBytes: 1 });
    expect(residentWeights(hf)).toEqual([]);
    expect(scored).toEqual(expected);
  });

  it.each(['int4-weight-only', 'float8'] as const)(
    'of the %s model read on demand: the whole quantized runtime model’s scores bit for bit',
    async (mode) => {
      const quantized = await modelOptQuantize(await load('on-demand'), mode, {
        numSamples: 4,
        batchSize: 2,
        maxSampleLength: 64,
        log: () => {},
        onNotice: () => {},
      });
      const window = await heldOutWindow();
      const whole = new GPT(gptConfigFromHf(quantized.model.config, { quantMode: quantized.mode }));
      whole.loadStateDict(quantizedStateToRuntime(quantized, 'float32'), { strict: true });
      const expected = await wholeGraph(whole, window);
      const [scored] = await scoreWindowsBySegments(
        quantizedRuntimeSegments(quantized, 'float32'),
        [window],
        {
          device: 'cpu',
          segmentBytes: 1,
        },
      );
      expect(residentWeights(quantized.model)).toEqual([]);
      expect(scored).toEqual(expected);
    },
    300_000,
  );

  it.each([
    ['int4-weight-only', 'float16', 'matmul-nbits'],
    ['int4-weight-only', 'float32', 'dequantize-linear'],
    ['int8-weight-only', 'float16', 'matmul-nbits'],
    ['int8-weight-only', 'float32', 'matmul-nbits'],
  ] as const)(
    'of the %s model in %s, %s: the same graph from the codes as from the fake-quantized weights',
    async (mode, dtype, weightFormat) => {
      const quantized = await modelOptQuantize(await load(), mode, {
        numSamples: 2,
        batchSize: 2,
        maxSampleLength: 32,
        log: () => {},
        onNotice: () => {},
      });
      const graphs = async (segments: GPTSegments, format: WeightFormat) => {
        const built = [];
        for (const layers of segmentRanges(segments.config, 1)) {
          const segment = await segments.segment(layers);
          built.push({
            codes: holdsCodes(segment.transformer.h[0]!.mlp.c_fc),
            graph: buildSegmentGraph(segment, {
              first: layers.start === 0,
              last: layers.end === segments.config.numLayers,
              incomingBias: undefined,
              weightFormat: format,
              splitLongProducts: true,
            }),
          });
        }
        return built;
      };
      const fromCodes = await graphs(quantizedRuntimeSegments(quantized, dtype), weightFormat);
      const fromFloats = await graphs(
        quantizedRuntimeSegments(quantized, dtype, { weights: 'fake-quantized' }),
        weightFormat,
      );
      // Every block's linears held their codes on one side and floats on the other.
      expect(fromCodes.map(({ codes }) => codes)).toEqual(fromCodes.map(() => true));
      expect(fromFloats.map(({ codes }) => codes)).toEqual(fromFloats.map(() => false));
      // The graphs, with each initializer's bytes (a deep comparison of large arrays is slow).
      const bytesOf = (built: typeof fromCodes) =>
        built.map(({ graph }) => ({
          ...graph,
          graph: {
            ...graph.graph,
            initializers: graph.graph.initializers.map(({ name, tensor }) => ({
              name,
              dtype: tensor.dtype,
              shape: tensor.shape,
              bytes: Buffer.from(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength).toString(
                'base64',
              ),
            })),
          },
        }));
      expect(bytesOf(fromCodes)).toEqual(bytesOf(fromFloats));
    },
    120_000,
  );
});
