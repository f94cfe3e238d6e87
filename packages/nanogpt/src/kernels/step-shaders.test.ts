import { createXoshiro128 } from '@ptq/tensor';
import { describe, expect, it } from 'vitest';
import { encodeKernel, kernelTestDevice, readWords, uploadBuffer } from '../__fixtures__/kernel-adapter';
import {
  attentionCombineShader,
  attentionPartialsFloats,
  attentionPartialsShader,
  attentionPartialsWorkgroups,
  GREEDY_CHUNK,
  greedyChunks,
  greedyCombineShader,
  greedyPartialsShader,
} from './step-shaders';

const { problem, kernel } = await kernelTestDevice('greedy step kernel');
const MAX_SEQUENCE = 8;

function buffer(data: Float32Array | Uint32Array): GPUBuffer {
  return uploadBuffer(kernel, data);
}

async function readFloats(source: GPUBuffer, length: number): Promise<Float32Array> {
  return new Float32Array(Uint32Array.from(await read(source, length)).buffer);
}

async function read(source: GPUBuffer, length: number): Promise<number[]> {
  return Array.from(await readWords(kernel, source, length));
}

function run(encoder: GPUCommandEncoder, code: string, targets: GPUBuffer[], workgroups: number): void {
  encodeKernel(kernel, encoder, code, targets, workgroups);
}

/** The two greedy stages on `logits` from state `[position, known]`: the state and tokens after. */
async function greedyStep(logits: Float32Array, position: number, known: number) {
  const vocab = logits.length;
  const state = buffer(Uint32Array.of(position, known, 0, 0));
  const tokens = buffer(new Uint32Array(MAX_SEQUENCE + 1).fill(7777));
  const partials = buffer(new Uint32Array(2 * greedyChunks(vocab)));
  const encoder = kernel.device.createCommandEncoder();
  run(encoder, greedyPartialsShader(vocab), [buffer(logits), partials], greedyChunks(vocab));
  run(encoder, greedyCombineShader(vocab, MAX_SEQUENCE), [state, tokens, partials], 1);
  kernel.device.queue.submit([encoder.finish()]);
  return { state: (await read(state, 2)) as [number, number], tokens: await read(tokens, MAX_SEQUENCE + 1) };
}

/** ArgMax on the host: the first index of the greatest value. */
function argMax(values: Float32Array): number {
  let best = 0;
  for (let index = 1; index < values.length; index += 1) if (values[index]! > values[best]!) best = index;
  return best;
}

describe.skipIf(problem !== undefined)('the greedy step in two stages (llvmpipe)', () => {
  // A last partial chunk (1000 = 3·256 + 232), a vocabulary under one chunk, and GPT-2's.
  it.each([1000, 37, 50257])('vocabulary %i: the first of equal maxima, wherever they lie', async (vocab) => {
    const random = createXoshiro128(vocab);
    const cases: number[][] = [
      [vocab - 1],
      [0, vocab - 1],
      [Math.floor(vocab / 2), Math.floor(vocab / 3)],
      [Math.min(GREEDY_CHUNK + 5, vocab - 1), Math.min(GREEDY_CHUNK + 3, vocab - 1), vocab - 2],
      [Math.floor(vocab * 0.9), Math.floor(vocab * 0.7) + 1],
    ];
    for (const maxima of cases) {
      const logits = Float32Array.from({ length: vocab }, () => 20 * random() - 10);
      for (const index of maxima) logits[index] = 12.5;
      const want = argMax(logits);
      expect(want).toBe(Math.min(...maxima));
      const { state, tokens } = await greedyStep(logits, 3, 4);
      expect({ state, token: tokens[4] }, `maxima at ${maxima}`).toEqual({ state: [4, 5], token: want });
    }
  });

  it('a known next token (a prompt) is kept, and the position advances; past the cache nothing is written', async () => {
    const logits = Float32Array.from({ length: 600 }, (_, index) => (index === 400 ? 3 : 0));
    const prompt = await greedyStep(logits, 1, 5);
    expect(prompt.state).toEqual([2, 5]);
    expect(prompt.tokens).toEqual(new Array(MAX_SEQUENCE + 1).fill(7777));
    const full = await greedyStep(logits, MAX_SEQUENCE, MAX_SEQUENCE + 1);
    expect(full.state).toEqual([MAX_SEQUENCE + 1, MAX_SEQUENCE + 1]);
    expect(full.tokens).toEqual(new Array(MAX_SEQUENCE + 1).fill(7777));
  });
});

describe.skipIf(problem !== undefined)('decode attention in chunks (llvmpipe)', () => {
  const heads = 3;
  const headSize = 8;
  const maxSequence = 40;
  const width = heads * headSize;
  const options = { numHeads: heads, headSize, maxSequence };

  // Positions at and around the chunk edges (chunks of 16) and the cache's last slot.
  it.each([0, 1, 15, 16, 17, 31, 32, 39])(
    'position %i: softmax(q·kᵀ/√d)·v and the new key and value cached',
    async (position) => {
      const random = createXoshiro128(100 + position);
      const qkv = Float32Array.from({ length: 3 * width }, () => 4 * random() - 2);
      const cacheKeys = Float32Array.from({ length: heads * maxSequence * headSize }, () => 4 * random() - 2);
      const cacheValues = Float32Array.from(
        { length: heads * maxSequence * headSize },
        () => 2 * random() - 1,
      );
      const keys = buffer(cacheKeys);
      const values = buffer(cacheValues);
      const attended = buffer(new Float32Array(width));
      const state = buffer(Uint32Array.of(position, position + 1, 0, 0));
      const partials = buffer(new Float32Array(attentionPartialsFloats(options)));
      const encoder = kernel.device.createCommandEncoder();
      run(
        encoder,
        attentionPartialsShader(options),
        [state, buffer(qkv), keys, values, partials],
        attentionPartialsWorkgroups(options),
      );
      run(encoder, attentionCombineShader(options), [state, partials, attended], heads);
      kernel.device.queue.submit([encoder.finish()]);
      const got = await readFloats(attended, width);
      const storedKeys = await readFloats(keys, cacheKeys.length);
      const storedValues = await readFloats(values, cacheValues.length);

      for (let head = 0; head < heads; head += 1) {
        const slot = (t: number, d: number) => head * maxSequence * headSize + t * headSize + d;
        for (let d = 0; d < headSize; d += 1) {
          cacheKeys[slot(position, d)] = qkv[width + head * headSize + d]!;
          cacheValues[slot(position, d)] = qkv[2 * width + head * headSize + d]!;
        }
        const scores = Array.from({ length: position + 1 }, (_, t) => {
          let dot = 0;
          for (let d = 0; d < headSize; d += 1) dot += qkv[head * headSize + d]! * cacheKeys[slot(t, d)]!;
          return dot / Math.sqrt(headSize);
        });
        const highest = Math.max(...scores);
        const weights = scores.map((score) => Math.exp(score - highest));
        const total = weights.reduce((sum, weight) => sum + weight, 0);
        for (let d = 0; d < headSize; d += 1) {
          const want = weights.reduce((sum, weight, t) => sum + weight * cacheValues[slot(t, d)]!, 0) / total;
          expect(Math.abs(got[head * headSize + d]! - want), `head ${head}, channel ${d}`).toBeLessThan(1e-5);
        }
      }
      expect(Array.from(storedKeys)).toEqual(Array.from(cacheKeys));
      expect(Array.from(storedValues)).toEqual(Array.from(cacheValues));
    },
  );
});

describe.skipIf(problem !== undefined)('batch rows of the step kernels (llvmpipe)', () => {
  it('greedy: each row takes the argmax of its own logits, at its own position and token slice', async () => {
    const vocab = 700;
    const rows = 3;
    const random = createXoshiro128(7);
    const logits = Float32Array.from({ length: rows * vocab }, () => 20 * random() - 10);
    const maxima = [650, 3, 300];
    maxima.forEach((index, row) => {
      logits[row * vocab + index] = 12.5;
    });
    // Row 1's next token is a known prompt token: kept, the position still advances.
    const state = buffer(Uint32Array.of(2, 3, 0, 0, 4, 7, 0, 0, 0, 1, 0, 0));
    const tokens = buffer(new Uint32Array(rows * (MAX_SEQUENCE + 1)).fill(7777));
    const partials = buffer(new Uint32Array(rows * 2 * greedyChunks(vocab)));
    const encoder = kernel.device.createCommandEncoder();
    encodeKernel(
      kernel,
      encoder,
      greedyPartialsShader(vocab),
      [buffer(logits), partials],
      [greedyChunks(vocab), rows],
    );
    encodeKernel(
      kernel,
      encoder,
      greedyCombineShader(vocab, MAX_SEQUENCE),
      [state, tokens, partials],
      [1, rows],
    );
    kernel.device.queue.submit([encoder.finish()]);
    expect(await read(state, 4 * rows)).toEqual([3, 4, 0, 0, 5, 7, 0, 0, 1, 2, 0, 0]);
    const want = new Array(rows * (MAX_SEQUENCE + 1)).fill(7777);
    want[3] = 650;
    want[2 * (MAX_SEQUENCE + 1) + 1] = 300;
    expect(await read(tokens, rows * (MAX_SEQUENCE + 1))).toEqual(want);
  });

  it('attention: each row at its own position against its own cache slot', async () => {
    const heads = 2;
    const headSize = 8;
    const maxSequence = 40;
    const width = heads * headSize;
    const options = { numHeads: heads, headSize, maxSequence };
    const positions = [20, 3];
    const rows = positions.length;
    const random = createXoshiro128(3);
    const qkv = Float32Array.from({ length: rows * 3 * width }, () => 4 * random() - 2);
    const slot = heads * maxSequence * headSize;
    const cacheKeys = Float32Array.from({ length: rows * slot }, () => 4 * random() - 2);
    const cacheValues = Float32Array.from({ length: rows * slot }, () => 2 * random() - 1);
    const keys = buffer(cacheKeys);
    const values = buffer(cacheValues);
    const attended = buffer(new Float32Array(rows * width));
    const state = buffer(Uint32Array.from(positions.flatMap((position) => [position, position + 1, 0, 0])));
    const partials = buffer(new Float32Array(rows * attentionPartialsFloats(options)));
    const encoder = kernel.device.createCommandEncoder();
    encodeKernel(
      kernel,
      encoder,
      attentionPartialsShader(options),
      [state, buffer(qkv), keys, values, partials],
      [attentionPartialsWorkgroups(options), rows],
    );
    encodeKernel(
      kernel,
      encoder,
      attentionCombineShader(options),
      [state, partials, attended],
      [heads, rows],
    );
    kernel.device.queue.submit([encoder.finish()]);
    const got = await readFloats(attended, rows * width);
    const storedKeys = await readFloats(keys, cacheKeys.length);
    const storedValues = await readFloats(values, cacheValues.length);
    positions.forEach((position, row) => {
      const q = row * 3 * width;
      for (let head = 0; head < heads; head += 1) {
        const at = (t: number, d: number) => row * slot + head * maxSequence * headSize + t * headSize + d;
        for (let d = 0; d < headSize; d += 1) {
          cacheKeys[at(position, d)] = qkv[q + width + head * headSize + d]!;
          cacheValues[at(position, d)] = qkv[q + 2 * width + head * headSize + d]!;
        }
        const scores = Array.from({ length: position + 1 }, (_, t) => {
          let dot = 0;
          for (let d = 0; d < headSize; d += 1) dot += qkv[q + head * headSize + d]! * cacheKeys[at(t, d)]!;
          return dot / Math.sqrt(headSize);
        });
        const highest = Math.max(...scores);
        const weights = scores.map((score) => Math.exp(score - highest));
        const total = weights.reduce((sum, weight) => sum + weight, 0);
        for (let d = 0; d < headSize; d += 1) {
          const want = weights.reduce((sum, weight, t) => sum + weight * cacheValues[at(t, d)]!, 0) / total;
          const value = got[row * width + head * headSize + d]!;
          expect(Math.abs(value - want), `row ${row}, head ${head}, channel ${d}`).toBeLessThan(1e-5);
        }
      }
    });
    expect(Array.from(storedKeys)).toEqual(Array.from(cacheKeys));
    expect(Array.from(storedValues)).toEqual(Array.from(cacheValues));
  });
});
