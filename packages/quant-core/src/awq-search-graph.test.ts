import { createSession, toOrtTensor } from '@ptq/onnx';
import { GraphBuilder, serializeModel } from '@ptq/onnx-format';
import { createTensor } from '@ptq/tensor';
import { describe, expect, it } from 'vitest';
import { fakeQuantizedScaled } from './__fixtures__/awq-fake-quant-reference';
import { AwqSearchGraphs, awqLossGraph, awqReferenceProductGraph } from './awq-search-graph';

/** The loss of one candidate as ModelOpt computes it, elementwise in float32, the mean in float64. */
function referenceLoss(
  x: Float32Array,
  w: Float32Array,
  b: Float32Array,
  s: Float32Array,
  tokens: number,
  inFeatures: number,
  out: number,
  blockSize: number,
): number {
  const quantized = fakeQuantizedScaled(w, s, out, inFeatures, blockSize);
  let sum = 0;
  for (let token = 0; token < tokens; token++) {
    for (let row = 0; row < out; row++) {
      let reference = 0;
      let candidate = 0;
      for (let column = 0; column < inFeatures; column++) {
        const input = x[token * inFeatures + column]!;
        reference += input * w[row * inFeatures + column]!;
        candidate += Math.fround(input * Math.fround(1 / s[column]!)) * quantized[row * inFeatures + column]!;
      }
      const difference = candidate + b[row]! - (reference + b[row]!);
      sum += difference * difference;
    }
  }
  return sum / (tokens * out);
}

function values(count: number, seed: number, amplitude: number): Float32Array {
  return Float32Array.from({ length: count }, (_, index) =>
    Math.fround(Math.sin(index * 12.9898 + seed) * amplitude),
  );
}

describe('AwqSearchGraphs', () => {
  it('scores stacked candidates as one candidate alone, and as a float64 reference (in a partial last block too)', async () => {
    for (const [inFeatures, out, tokens] of [
      [200, 24, 5],
      [256, 16, 3],
    ] as const) {
      const x = values(tokens * inFeatures, 1, 2);
      const w = values(out * inFeatures, 2, 0.05);
      const b = values(out, 3, 0.1);
      const scales = [0.5, 1, 2, 3].map((exponent, index) =>
        Float32Array.from({ length: inFeatures }, (_, column) =>
          Math.fround(1 + ((column * (index + 1)) % 7) / exponent),
        ),
      );
      const inverses = scales.map((scale) => scale.map((value) => Math.fround(1 / value)));
      const input = createTensor('float32', [tokens, inFeatures], x);
      const weight = createTensor('float32', [out, inFeatures], w);
      const bias = createTensor('float32', [out], b);
      const graphs = new AwqSearchGraphs('cpu', 2 ** 30);
      const stacked = await graphs.losses(input, weight, bias, scales, inverses, 128);
      const alone: number[] = [];
      for (let index = 0; index < scales.length; index++) {
        alone.push(...(await graphs.losses(input, weight, bias, [scales[index]!], [inverses[index]!], 128)));
      }
      await graphs.dispose();
      expect(stacked).toEqual(alone);
      for (let index = 0; index < scales.length; index++) {
        const expected = referenceLoss(x, w, b, scales[index]!, tokens, inFeatures, out, 128);
        expect(expected).toBeGreaterThan(0);
        expect(Math.abs(stacked[index]! / expected - 1), `${inFeatures}: candidate ${index}`).toBeLessThan(
          1e-3,
        );
      }
    }
  });

  it("rounds in the GPU form as Round does, half to even, bit for bit, over every code's range", async () => {
    const graph = new GraphBuilder({ name: 'rounding', opsetImports: { '': 21 } });
    const v = graph.input('v', 'float32', ['n']);
    const magic = graph.constant(createTensor('float32', [], Float32Array.of(12582912)));
    graph.output(graph.node('Round', [v]), 'round', 'float32', ['n']);
    graph.output(graph.node('Sub', [graph.node('Add', [v, magic]), magic]), 'magic', 'float32', ['n']);
    const { session } = await createSession(serializeModel(graph.build()), { device: 'cpu' });
    // Every tie k + ½ and its float32 neighbours in [-9, 9], zeros, and a dense sweep of the range.
    const inputs: number[] = [0, -0, 1e-30, -1e-30, 4e6, -4e6];
    for (let k = -18; k <= 18; k++) {
      const tie = k / 2;
      const bits = new Int32Array(Float32Array.of(tie).buffer)[0]!;
      for (const step of [-1, 0, 1]) inputs.push(new Float32Array(Int32Array.of(bits + step).buffer)[0]!);
    }
    for (let index = 0; index < 100_000; index++) inputs.push(Math.fround(-8.5 + (17 * index) / 100_000));
    const feed = toOrtTensor(createTensor('float32', [inputs.length], Float32Array.from(inputs)));
    const result = await session.run({ v: feed });
    await session.release();
    const expected = new Uint32Array((result.round!.data as Float32Array).buffer);
    const actual = new Uint32Array((result.magic!.data as Float32Array).buffer);
    let differing = 0;
    for (let index = 0; index < inputs.length; index++) {
      // Round keeps the sign of a value that rounds to zero; the addition gives +0. Both are code 0.
      if (actual[index] !== expected[index] && !(expected[index] === 0x80000000 && actual[index] === 0))
        differing++;
    }
    expect(differing).toBe(0);
    // -9 and its neighbours; -8.5 rounds to even (-8), its neighbour nearer zero to -8, the other to -9; then -8.
    expect([...(result.magic!.data as Float32Array).slice(6, 15)]).toEqual([
      -9, -9, -9, -8, -8, -9, -8, -8, -8,
    ]);
  });

  it('the GPU form of the loss graph gives the losses of the CPU form, up to the order of the mean', async () => {
    for (const [inFeatures, out, tokens] of [
      [200, 24, 5],
      [256, 16, 3],
    ] as const) {
      const feeds = {
        x: toOrtTensor(createTensor('float32', [tokens, inFeatures], values(tokens * inFeatures, 4, 2))),
        w: toOrtTensor(createTensor('float32', [out, inFeatures], values(out * inFeatures, 5, 0.05))),
        b: toOrtTensor(createTensor('float32', [out], values(out, 6, 0.1))),
        s: toOrtTensor(
          createTensor(
            'float32',
            [3, 1, inFeatures],
            values(3 * inFeatures, 7, 0.5).map((v) => 1 + v),
          ),
        ),
        inverse_s: toOrtTensor(
          createTensor(
            'float32',
            [3, 1, inFeatures],
            values(3 * inFeatures, 7, 0.5).map((v) => Math.fround(1 / (1 + v))),
          ),
        ),
      };
      const reference = await createSession(serializeModel(awqReferenceProductGraph()), { device: 'cpu' });
      const { y } = await reference.session.run({ x: feeds.x, w: feeds.w, b: feeds.b });
      await reference.session.release();
      const losses = async (forGpu: boolean) => {
        const graph = awqLossGraph(128, inFeatures % 128 !== 0, { forGpu });
        const { session } = await createSession(serializeModel(graph), { device: 'cpu' });
        const result = await session.run({ ...feeds, y: y! });
        await session.release();
        return [...(result.losses!.data as Float32Array)];
      };
      const cpu = await losses(false);
      const gpu = await losses(true);
      expect(cpu).toHaveLength(3);
      for (let index = 0; index < 3; index++) {
        expect(cpu[index]!).toBeGreaterThan(0);
        expect(Math.abs(gpu[index]! / cpu[index]! - 1), `${inFeatures}: candidate ${index}`).toBeLessThan(
          1e-6,
        );
      }
    }
  });

  it('splits candidates into runs under the memory budget', () => {
    const graphs = new AwqSearchGraphs('cpu', 2 ** 30);
    // GPT-2-large's c_fc, 64 tokens: 8 weight-sized copies of 26 MB each exceed the 256 MiB cap alone.
    expect(graphs.candidatesPerRun(64, 1280, 5120)).toBe(1);
    expect(graphs.candidatesPerRun(64, 256, 1024)).toBe(29);
    expect(new AwqSearchGraphs('cpu', 2 ** 20).candidatesPerRun(64, 256, 1024)).toBe(1);
  });

  it('on a GPU, takes as many candidates a run as device memory and the largest tensor allow', () => {
    // The host budget does not apply: the candidates live in device memory.
    const graphs = new AwqSearchGraphs('webgpu', 2 ** 20);
    // GPT-2-124M's c_fc, 16 × 512 tokens: products of 100.7 MB each, 10 under the 1 GiB tensor cap
    // (302 MB of working memory a candidate would allow 14 in 4 GiB).
    expect(graphs.candidatesPerRun(8192, 768, 3072, 'webgpu')).toBe(10);
    expect(graphs.candidatesPerRun(8192, 3072, 768, 'webgpu')).toBe(10);
    // attn.c_proj: 94.4 MB a candidate: 45 in 4 GiB, scaled inputs of 25.2 MB: 42 under the cap.
    expect(graphs.candidatesPerRun(8192, 768, 768, 'cuda')).toBe(42);
    // GPT-2-large's c_fc, 64 tokens: 8 weight-sized copies of 26 MB each: 20 in 4 GiB.
    expect(graphs.candidatesPerRun(64, 1280, 5120, 'webgpu')).toBe(20);
  });
});
