// Decode speed of a GPT-2-124M-shaped model with random weights, per quant mode and dtype.
//
//   pnpm bench                      # every mode on the default device ('auto')
//   node .bench/decode-throughput.js --device webgpu --tokens 128
//
// For each configuration it first checks that KV-cache decode gives the logits of a full recompute
// (the cache path on that device), then times one greedy `generate` call. Results are printed as a
// table and written to bench-results/nanogpt-decode.json.
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import type { Device } from '@ptq/onnx';
import { createTensor } from '@ptq/tensor';
import {
  compile,
  GPT,
  generate,
  initializeWeights,
  type ModelDType,
  type QuantMode,
  type WeightFormat,
} from '../src/index';

interface Row {
  mode: string;
  dtype: ModelDType;
  device: string;
  weightFormat: string;
  compileMs: number;
  prefillMs: number;
  decodeTokensPerSecond: number;
  cacheVersusRecompute: number;
}

function argument(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index === -1 ? fallback : (process.argv[index + 1] ?? fallback);
}

const device = argument('device', 'auto') as Device;
const newTokens = Number(argument('tokens', '128'));
const promptLength = Number(argument('prompt', '16'));
const only = argument('only', '');
const weightFormat = argument('weight-format', '') as WeightFormat | '';
// --verbose: onnxruntime's verbose log, which lists the nodes placed on each execution provider.
const verbose = process.argv.includes('--verbose');
const shape = { numLayers: 12, numHeads: 12, embeddingSize: 768, vocabSize: 50257, blockSize: 1024 };
const configurations: Array<[QuantMode | undefined, ModelDType]> = [
  [undefined, 'float32'],
  ['int8-weight-only', 'float32'],
  ['int4-weight-only', 'float32'],
  ['float8', 'float32'],
  [undefined, 'float16'],
  ['float8', 'float16'],
  ['int4-weight-only', 'float16'],
];

function maxDifference(left: Float32Array, right: Float32Array): number {
  let difference = 0;
  for (let index = 0; index < left.length; index += 1) {
    difference = Math.max(difference, Math.abs(left[index]! - right[index]!));
  }
  return difference;
}

const rows: Row[] = [];
const prompt = Array.from({ length: promptLength }, (_, index) => (index * 7919) % shape.vocabSize);
for (const [quantMode, dtype] of configurations) {
  const mode = quantMode ?? 'none';
  if (only !== '' && !only.split(',').includes(`${mode}/${dtype}`)) continue;
  const model = new GPT({ ...shape, quantMode, dtype });
  initializeWeights(model, { seed: 1 });
  const compileStart = performance.now();
  const compiled = await compile(model, {
    device,
    maxSequence: promptLength + newTokens + 8,
    weightFormat: weightFormat === '' || quantMode === undefined ? undefined : weightFormat,
    sessionOptions: verbose ? { logSeverityLevel: 0 } : undefined,
  });
  const compileMs = performance.now() - compileStart;

  // Cache check: 4 decode steps against full recomputes.
  const ids = [...prompt];
  const { cache } = await compiled.prefill(
    createTensor('int64', [1, ids.length], BigInt64Array.from(ids, BigInt)),
  );
  let cacheVersusRecompute = 0;
  for (const token of [11, 22, 33, 44]) {
    const { logits } = await compiled.decodeStep(cache, [token]);
    ids.push(token);
    const full = await compiled.forward(
      createTensor('int64', [1, ids.length], BigInt64Array.from(ids, BigInt)),
    );
    const last = full.logits.data.subarray((ids.length - 1) * shape.vocabSize);
    cacheVersusRecompute = Math.max(cacheVersusRecompute, maxDifference(logits.data, last));
  }
  cache.dispose();

  await generate(compiled, prompt, { maxNewTokens: 8, stopAtEos: false }); // warm-up
  const { timings } = await generate(compiled, prompt, { maxNewTokens: newTokens, stopAtEos: false });
  rows.push({
    mode,
    dtype,
    device: compiled.device,
    weightFormat: compiled.weightFormat ?? '-',
    compileMs: Math.round(compileMs),
    prefillMs: Number(timings.prefillMs.toFixed(1)),
    decodeTokensPerSecond: Number(timings.tokensPerSecond.toFixed(1)),
    cacheVersusRecompute: Number(cacheVersusRecompute.toExponential(2)),
  });
  console.error(JSON.stringify(rows.at(-1)));
  await compiled.release();
}

const machine = `${cpus()[0]?.model ?? 'unknown CPU'} × ${cpus().length}, Node ${process.version}`;
console.log(
  `GPT-2-124M shape, random weights, prompt ${promptLength}, ${newTokens} new tokens, batch 1 — ${machine}`,
);
console.table(rows);
await mkdir('bench-results', { recursive: true });
await writeFile(
  'bench-results/nanogpt-decode.json',
  `${JSON.stringify({ machine, promptLength, newTokens, rows }, null, 2)}\n`,
);
