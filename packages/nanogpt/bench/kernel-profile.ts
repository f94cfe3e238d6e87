// Where a decode step's time goes in the kernels engine: GPU time per kind of kernel (timestamp
// queries, each kernel in a pass of its own, summed over the layers) against the wall time of a
// step when steps are encoded many per submission; plus a 512-token prefill. GPT-2-124M shape,
// random weights, per quant mode.
//
//   tsup --config ../../tooling/bench/tsup.config.ts --silent bench/kernel-profile.ts
//   node ../../.bench/kernel-profile.js --out bench-results/kernel-profile.json
import { createTensor } from '@ptq/tensor';
import { flag, machine, median, printTable, writeJson } from '../../../tooling/bench/report';
import { GPT, initializeWeights, KernelGPT, type ModelDType, type QuantMode } from '../src/index';
import { requestKernelDevice } from '../src/kernels/dawn-device';

const out = flag('out', 'bench-results/nanogpt-kernel-profile.json');
const steps = Number(flag('steps', '24'));
const promptLength = Number(flag('prompt', '32'));
const prefillLength = Number(flag('prefill', '512'));
const newTokens = Number(flag('tokens', '128'));
const allowSoftwareAdapter = process.argv.includes('--allow-software-adapter');
const shapeName = flag('shape', 'gpt2-124m');
const SHAPES = {
  'gpt2-124m': { numLayers: 12, numHeads: 12, embeddingSize: 768, vocabSize: 50257, blockSize: 1024 },
  tiny: { numLayers: 12, numHeads: 4, embeddingSize: 128, vocabSize: 512, blockSize: 1024 },
};
const shape = SHAPES[shapeName as keyof typeof SHAPES];
const modes = flag('modes', 'none,int8-weight-only,int4-weight-only,float8').split(',');
const dtype = flag('dtype', 'float16') as ModelDType;

const ids = (tokens: readonly number[]) =>
  createTensor('int64', [1, tokens.length], BigInt64Array.from(tokens, BigInt));
const prompt = Array.from({ length: promptLength }, (_, index) => (index * 7919) % shape.vocabSize);
const longPrompt = Array.from({ length: prefillLength }, (_, index) => (index * 7919) % shape.vocabSize);

const summaries: unknown[] = [];
const stepRows: (string | number)[][] = [];
let adapter = '';
for (const mode of modes) {
  const model = new GPT({ ...shape, dtype, quantMode: mode === 'none' ? undefined : (mode as QuantMode) });
  initializeWeights(model, { seed: 1 });
  const kernelDevice = await requestKernelDevice({ allowSoftwareAdapter, timestamps: true });
  adapter = kernelDevice.adapterName;
  const compiled = await KernelGPT.create({
    gpt: model,
    kernelDevice,
    maxSequence: Math.max(prefillLength, promptLength + newTokens + steps) + 8,
  });
  // Wall time per step at several steps per submission (greedy, tokens read once per submission).
  const perRead: Record<string, number> = {};
  for (const tokensPerRead of [1, 8, 32, 128]) {
    const runs: number[] = [];
    for (let repeat = 0; repeat < 4; repeat += 1) {
      const chunks = compiled.greedyChunks(prompt, newTokens + 1, tokensPerRead);
      await chunks.next(); // the prompt and the first token
      const started = performance.now();
      for await (const _ of chunks);
      runs.push((performance.now() - started) / newTokens);
    }
    perRead[String(tokensPerRead)] = median(runs.slice(1));
    console.error(
      `${mode}: ${tokensPerRead} steps per submission: ${perRead[String(tokensPerRead)]!.toFixed(3)} ms a step`,
    );
  }
  // Prefill of a long prompt (last position's logits), median of 5 after a warm-up.
  const prefills: number[] = [];
  for (let repeat = 0; repeat < 6; repeat += 1) {
    const started = performance.now();
    const { cache } = await compiled.prefill(ids(longPrompt), undefined, { logits: 'last' });
    prefills.push(performance.now() - started);
    cache.dispose();
  }
  const prefillMs = median(prefills.slice(1));
  console.error(`${mode}: prefill of ${prefillLength}: ${prefillMs.toFixed(2)} ms`);
  // GPU time per kernel, continuing a prompt.
  (await compiled.prefill(ids(prompt), undefined, { logits: 'last' })).cache.dispose();
  let timings: Awaited<ReturnType<KernelGPT['profileSteps']>> = [];
  let profileError: string | undefined;
  try {
    timings = await compiled.profileSteps(steps);
  } catch (error) {
    profileError = (error as Error).message;
  }
  await compiled.release();
  const kernels = timings.map((timing) => ({
    kernel: timing.kernel,
    medianMicroseconds: median(timing.microseconds.slice(2)),
  }));
  const gpuMicroseconds = kernels.reduce((sum, kernel) => sum + kernel.medianMicroseconds, 0);
  summaries.push({
    mode,
    perReadStepMs: perRead,
    prefillLength,
    prefillMs,
    kernels,
    gpuMicroseconds,
    profileError,
  });
  if (kernels.length > 0) {
    printTable(
      `${mode}: GPU time per decode step by kernel (each kernel in its own pass; median of ${steps - 2} steps at position ~${promptLength})`,
      ['kernel', 'µs per step (all layers)', 'share'],
      kernels.map((kernel) => [
        kernel.kernel,
        kernel.medianMicroseconds,
        `${((100 * kernel.medianMicroseconds) / gpuMicroseconds).toFixed(1)}%`,
      ]),
    );
  } else {
    console.log(`${mode}: no timestamps (${profileError})`);
  }
  stepRows.push([
    mode,
    gpuMicroseconds / 1000,
    perRead['1']!,
    perRead['8']!,
    perRead['32']!,
    perRead['128']!,
    1000 / perRead['128']!,
    prefillMs,
    (prefillLength * 1000) / prefillMs,
  ]);
  writeJson(out, { machine: machine(), adapter, shape: shapeName, steps, summaries });
}

const host = machine();
printTable(
  `Kernels engine, ${shapeName} shape, ${dtype} model, random weights, batch 1 — ${adapter}; ${host.gpu ?? 'no GPU'}; ${host.cpu} × ${host.cores}; Node ${host.node}`,
  [
    'mode',
    'GPU ms per step (kernels summed)',
    'step ms, 1 per submit',
    '8 per submit',
    '32 per submit',
    '128 per submit',
    'decode tok/s (128 per submit)',
    `prefill ${prefillLength} ms`,
    'prefill tok/s',
  ],
  stepRows,
);
writeJson(out, { machine: host, adapter, shape: shapeName, steps, summaries });
