import { createXoshiro128, type RandomSource } from '@ptq/tensor';
import { describe, expect, it } from 'vitest';
import { BUFFER_USAGE, kernelTestDevice } from '../__fixtures__/kernel-adapter';
import { sampleToken, topKIndices } from '../generate/sampling';
import { sampleAdvanceShader, sampleCandidateSlots } from './sample-shader';

const { problem, kernel } = await kernelTestDevice('sampling kernel');

const { STORAGE, COPY_SRC, COPY_DST, MAP_READ, UNIFORM } = BUFFER_USAGE;

function buffer(
  bytes: number,
  usage: number,
  data?: ArrayBufferView & { buffer: ArrayBufferLike },
): GPUBuffer {
  const made = kernel.device.createBuffer({ size: Math.max(16, Math.ceil(bytes / 16) * 16), usage });
  if (data !== undefined)
    kernel.device.queue.writeBuffer(made, 0, data.buffer, data.byteOffset, data.byteLength);
  return made;
}

/**
 * The kernel's choice for each draw: `draws.length` steps over the same logits, each writing the
 * next position's token (positions 1…) as a decode step would.
 */
async function sampleOnDevice(
  logits: Float32Array,
  temperature: number,
  topK: number | undefined,
  draws: Float32Array,
): Promise<number[]> {
  const vocab = logits.length;
  const steps = draws.length;
  const { device } = kernel;
  const state = buffer(16, STORAGE | COPY_DST, Uint32Array.of(0, 1, 0, 0));
  const tokens = buffer(4 * (steps + 2), STORAGE | COPY_SRC);
  const drawBuffer = buffer(4 * (steps + 2), STORAGE | COPY_DST, Float32Array.of(0, ...draws));
  const settings = new ArrayBuffer(16);
  new Float32Array(settings, 0, 1)[0] = temperature;
  new Uint32Array(settings, 4, 1)[0] = Math.min(topK ?? vocab, vocab);
  const parameters = buffer(16, UNIFORM | COPY_DST, new Uint8Array(settings));
  device.pushErrorScope('validation');
  const pipeline = device.createComputePipeline({
    layout: 'auto',
    compute: {
      module: device.createShaderModule({ code: sampleAdvanceShader(vocab, steps + 1) }),
      entryPoint: 'main',
    },
  });
  const refused = await device.popErrorScope();
  expect(refused?.message).toBeUndefined();
  const buffers = [
    state,
    tokens,
    buffer(4 * vocab, STORAGE | COPY_DST, logits),
    drawBuffer,
    buffer(4 * sampleCandidateSlots(vocab), STORAGE),
    parameters,
  ];
  const bindGroup = device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: buffers.map((target, binding) => ({ binding, resource: { buffer: target } })),
  });
  const staging = buffer(4 * (steps + 2), MAP_READ | COPY_DST);
  const encoder = device.createCommandEncoder();
  const pass = encoder.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, bindGroup);
  for (let step = 0; step < steps; step += 1) pass.dispatchWorkgroups(1);
  pass.end();
  encoder.copyBufferToBuffer(tokens, 0, staging, 0, staging.size);
  device.queue.submit([encoder.finish()]);
  await staging.mapAsync(1);
  const written = new Uint32Array(staging.getMappedRange().slice(0));
  staging.unmap();
  for (const made of [...buffers, staging]) made.destroy();
  return Array.from(written.subarray(1, steps + 1));
}

function replay(draws: Float32Array): RandomSource {
  let next = 0;
  return () => draws[next++]!;
}

/**
 * Whether `draw` lands within 2e-6 (relative to the total) of a boundary between two
 * candidates' cumulative weights, computed as the host does: there float32 sums may pick the
 * neighbour.
 */
function nearBoundary(logits: Float32Array, temperature: number, topK: number | undefined, draw: number) {
  const candidates =
    topK === undefined || topK >= logits.length ? Array.from(logits.keys()) : topKIndices(logits, topK);
  const highest = Math.max(...candidates.map((index) => logits[index]!));
  const weights = candidates.map((index) => Math.exp((logits[index]! - highest) / temperature));
  const total = weights.reduce((sum, weight) => sum + weight, 0);
  let cumulative = 0;
  for (const weight of weights) {
    cumulative += weight;
    if (Math.abs(cumulative - draw * total) <= 2e-6 * total) return true;
  }
  return false;
}

/** Compares the kernel with `sampleToken` over `count` seeded draws; returns how many were near a boundary. */
async function compareWithHost(
  logits: Float32Array,
  temperature: number,
  topK: number | undefined,
  count: number,
  seed: number,
): Promise<number> {
  const random = createXoshiro128(seed);
  const draws = Float32Array.from({ length: count }, () => Math.min(Math.fround(random()), 1 - 2 ** -24));
  const got = await sampleOnDevice(logits, temperature, topK, draws);
  const host = replay(draws);
  const want = Array.from(draws, () => sampleToken(logits, { temperature, topK, random: host }));
  let near = 0;
  for (let step = 0; step < count; step += 1) {
    if (nearBoundary(logits, temperature, topK, draws[step]!)) {
      near += 1;
      continue;
    }
    expect(got[step], `draw ${step} (${draws[step]})`).toBe(want[step]);
  }
  return near;
}

function gaussianLogits(length: number, seed: number, spread: number): Float32Array {
  const random = createXoshiro128(seed);
  return Float32Array.from({ length }, () => {
    // Box–Muller: a bell of logits, as a language model's.
    const radius = Math.sqrt(-2 * Math.log(1 - random()));
    return spread * radius * Math.cos(2 * Math.PI * random());
  });
}

describe.skipIf(problem !== undefined)('sampling on the device (llvmpipe)', () => {
  it.each([
    { vocab: 1000, temperature: 0.8, topK: 40 },
    { vocab: 1000, temperature: 1.3, topK: undefined },
    { vocab: 8192, temperature: 0.8, topK: 40 },
    { vocab: 8192, temperature: 0.5, topK: undefined },
    { vocab: 3001, temperature: 2, topK: 2500 },
    { vocab: 777, temperature: 1, topK: 776 },
    { vocab: 777, temperature: 1, topK: 777 },
  ])(
    'picks what sampleToken picks with the same draws: vocabulary $vocab, temperature $temperature, top-k $topK',
    async ({ vocab, temperature, topK }) => {
      const logits = gaussianLogits(vocab, vocab + (topK ?? 0), 3);
      const near = await compareWithHost(logits, temperature, topK, 96, vocab * 31 + 7);
      // A draw within 2e-6 of a boundary is rare: the comparison checks nearly all of them.
      expect(near).toBeLessThan(3);
    },
  );

  it('top-k through ties: the lowest indices among equal logits, -0 equal to +0, as topKIndices', async () => {
    // Six levels over 1000 tokens: the 40th largest sits inside a run of ~170 equal logits.
    const random = createXoshiro128(11);
    const logits = Float32Array.from({ length: 1000 }, () => Math.floor(random() * 6) - 3);
    for (let index = 0; index < logits.length; index += 7) if (logits[index] === 0) logits[index] = -0;
    for (const topK of [1, 2, 40, 171, 500]) {
      expect(await compareWithHost(logits, 0.7, topK, 64, topK)).toBe(0);
    }
  });

  it('top-k 1 is the first largest logit whatever the draw', async () => {
    const logits = gaussianLogits(5000, 3, 2);
    const largest = Math.max(...logits);
    logits[4000] = largest;
    const first = logits.indexOf(largest);
    const draws = Float32Array.of(0, 0.25, 0.5, 0.99999994);
    expect(await sampleOnDevice(logits, 1, 1, draws)).toEqual([first, first, first, first]);
  });

  it('a draw of 0 takes the first candidate, a draw just below 1 the last (vocabulary order)', async () => {
    // Flat logits: candidates in vocabulary order, each 1/vocab of the total.
    const logits = new Float32Array(300);
    const draws = Float32Array.of(0, 0.5 / 300, 1.5 / 300, 299.5 / 300, 0.99999994);
    expect(await sampleOnDevice(logits, 1, undefined, draws)).toEqual([0, 0, 1, 299, 299]);
    // With top-k over equal logits the candidates are the k lowest indices.
    expect(await sampleOnDevice(logits, 1, 10, Float32Array.of(0, 0.55, 0.99999994))).toEqual([0, 5, 9]);
  });
});
