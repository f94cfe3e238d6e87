// Decode speed of a GPT-2-124M-shaped model with random weights, per quant mode, dtype and graph
// operators (fused onnxruntime kernels against standard ONNX ops, measured in the same run);
// `--shape tiny` keeps the layers and graph but makes the device's work negligible, which leaves
// the host's cost of a step.
//
//   pnpm bench                      # every configuration on the default device ('auto')
//   node .bench/decode-throughput.js --device webgpu --prompt 32 --tokens 128 --out results.json
//   node .bench/decode-throughput.js --only int4-weight-only/float16 --operators fused --profile
//   node .bench/decode-throughput.js --engine kernels --only none/float32,int8-weight-only/float32
//   node .bench/decode-throughput.js --engine kernels --prompt 512 --sample   # + sampling on the device
//   node .bench/decode-throughput.js --engine kernels --batch 32 --only none/float16   # batch-32 decode
//
// `--engine kernels` runs ptq's own WebGPU kernels (Dawn) instead of onnxruntime (`--operators` is
// then ignored); `--allow-software-adapter` lets them run on a software adapter such as llvmpipe.
// `--batch N` (default 1) compiles for N rows and generates N prompts of `--prompt` tokens at once;
// decode tok/s then counts every row's tokens (N × the decode steps' tokens per second of decode
// time), and `--sample` is skipped (the device samples one row).
//
// For each configuration it first checks that KV-cache decode gives the logits of a full recompute
// (the cache path on that device), then times greedy `generate` (median of --repeats): with the
// tokens chosen in the graph and fed back on the device (single-row fused graphs), and with the
// tokens chosen on the host from each step's logits, in the same session; both must give the same
// tokens. `--profile` adds onnxruntime's per-operator times for the fused graph's decode steps and
// for its prefill of the prompt alone.
import type { Device } from '@ptq/onnx';
import { createTensor } from '@ptq/tensor';
import { type ProfileSummary, profilePrefix, takeProfile } from '../../../tooling/bench/onnxruntime-profile';
import { flag, machine, median, printTable, writeJson } from '../../../tooling/bench/report';
import {
  CompiledGPT,
  compile,
  type Engine,
  type GenerateTimings,
  GPT,
  type GraphOperators,
  generate,
  initializeWeights,
  KernelGPT,
  type ModelDType,
  type QuantMode,
  type RuntimeGPT,
  type WeightFormat,
} from '../src/index';

interface Row {
  engine: string;
  batch: number;
  mode: string;
  dtype: ModelDType;
  operators: GraphOperators;
  /**
   * Where greedy tokens are chosen: in the graph (fed back on the device) or on the host from
   * logits; `device-sampled`: the kernels engine's sampling on the device (`--sample`).
   */
  choice: 'device' | 'host' | 'device-sampled';
  device: string;
  weightFormat: string;
  compileMs: number;
  prefillMs: number;
  prefillTokensPerSecond: number;
  decodeTokensPerSecond: number;
  cacheVersusRecompute: number;
}

const device = flag('device', 'auto') as Device;
const engine = flag('engine', 'onnxruntime') as Engine;
const allowSoftwareAdapter = process.argv.includes('--allow-software-adapter');
const newTokens = Number(flag('tokens', '128'));
const promptLength = Number(flag('prompt', '32'));
const repeats = Number(flag('repeats', '3'));
const batch = Number(flag('batch', '1'));
if (!Number.isSafeInteger(batch) || batch < 1)
  throw new Error(`--batch must be a positive integer, got ${batch}`);
const only = flag('only', '');
// The kernels engine has one set of kernels: the operators flag does not apply.
const operatorsList =
  engine === 'kernels'
    ? (['fused'] as GraphOperators[])
    : (flag('operators', 'fused,standard').split(',') as GraphOperators[]);
const weightFormat = flag('weight-format', '') as WeightFormat | '';
const out = flag('out', 'bench-results/nanogpt-decode.json');
const profile = process.argv.includes('--profile');
const tokensPerRead = Number(flag('tokens-per-read', '16'));
// --sample: the kernels engine also times sampling on the device (temperature 0.8, top-k 40, seed 1).
const sample = process.argv.includes('--sample');
// --device-choice-only: time only tokens chosen in the graph; --skip-checks: no cache check and no
// decodeStep timing (for quick A/B runs of provider settings, one process per setting).
const deviceChoiceOnly = process.argv.includes('--device-choice-only');
const skipChecks = process.argv.includes('--skip-checks');
// --webgpu-config validationMode=disabled,...: WebGPU provider settings (session config entries).
const webgpuConfig = Object.fromEntries(
  flag('webgpu-config', '')
    .split(',')
    .filter((entry) => entry !== '')
    .map((entry) => entry.split('=') as [string, string]),
);
const providerExtra =
  Object.keys(webgpuConfig).length === 0 ? {} : { extra: { ep: { webgpuexecutionprovider: webgpuConfig } } };
// --intra-op-threads N, --no-spinning: the CPU thread pool the host nodes run on.
const intraOpThreads = Number(flag('intra-op-threads', '0'));
const threadOptions = {
  ...(intraOpThreads > 0 ? { intraOpNumThreads: intraOpThreads } : {}),
  extra: {
    ...providerExtra.extra,
    ...(process.argv.includes('--no-spinning') ? { session: { intra_op: { allow_spinning: '0' } } } : {}),
  },
};
// --verbose: onnxruntime's verbose log, which lists the nodes placed on each execution provider.
const verbose = process.argv.includes('--verbose');
// --shape tiny: GPT-2-124M's 12 layers and graph, 128 wide with a 512-token vocabulary, so the
// device's work is negligible and a step's time is what it costs the host.
const shapeName = flag('shape', 'gpt2-124m');
const SHAPES = {
  'gpt2-124m': { numLayers: 12, numHeads: 12, embeddingSize: 768, vocabSize: 50257, blockSize: 1024 },
  tiny: { numLayers: 12, numHeads: 4, embeddingSize: 128, vocabSize: 512, blockSize: 1024 },
};
if (!(shapeName in SHAPES)) throw new Error(`--shape must be one of ${Object.keys(SHAPES).join(', ')}`);
const shape = SHAPES[shapeName as keyof typeof SHAPES];
const configurations: Array<[QuantMode | undefined, ModelDType]> = [
  [undefined, 'float32'],
  ['int8-weight-only', 'float32'],
  ['int4-weight-only', 'float32'],
  ['float8', 'float32'],
  [undefined, 'float16'],
  ['int8-weight-only', 'float16'],
  ['int4-weight-only', 'float16'],
  ['float8', 'float16'],
];

function maxDifference(left: Float32Array, right: Float32Array): number {
  let difference = 0;
  for (let index = 0; index < left.length; index += 1) {
    difference = Math.max(difference, Math.abs(left[index]! - right[index]!));
  }
  return difference;
}

const ids = (tokens: readonly number[]) =>
  createTensor('int64', [1, tokens.length], BigInt64Array.from(tokens, BigInt));

/**
 * Largest logit difference between 4 KV-cache decode steps and a full recompute of the sequence
 * (run first: the kernels engine holds one sequence at a time).
 */
async function cacheCheck(compiled: RuntimeGPT, prompt: readonly number[]): Promise<number> {
  const next = [11, 22, 33, 44];
  const full = (await compiled.forward(ids([...prompt, ...next]))).logits.data;
  const { cache } = await compiled.prefill(ids(prompt));
  let difference = 0;
  for (const [step, token] of next.entries()) {
    const { logits } = await compiled.decodeStep(cache, [token]);
    const position = prompt.length + step;
    const expected = full.subarray(position * shape.vocabSize, (position + 1) * shape.vocabSize);
    difference = Math.max(difference, maxDifference(logits.data, expected));
  }
  cache.dispose();
  return difference;
}

const rows: Row[] = [];
const profiles: Record<string, ProfileSummary> = {};
/** The results so far, the settings that made them and the machine, as JSON at `--out`. */
const writeResults = () =>
  writeJson(out, {
    machine: machine(),
    engine,
    shape: shapeName,
    batch,
    promptLength,
    newTokens,
    repeats,
    tokensPerRead,
    webgpuConfig,
    rows,
    profiles,
  });
const prompt = Array.from({ length: promptLength }, (_, index) => (index * 7919) % shape.vocabSize);
// --batch: one prompt per row, each its own tokens (row 0 is the single-row prompt).
const prompts = Array.from({ length: batch }, (_, rowIndex) =>
  prompt.map((token) => (token + 101 * rowIndex) % shape.vocabSize),
);
for (const [quantMode, dtype] of configurations) {
  const mode = quantMode ?? 'none';
  if (only !== '' && !only.split(',').includes(`${mode}/${dtype}`)) continue;
  const model = new GPT({ ...shape, quantMode, dtype });
  initializeWeights(model, { seed: 1 });
  const compileOptions = {
    device,
    // Room for generate and for the 48 timed decodeStep calls after the prompt.
    maxSequence: promptLength + Math.max(newTokens, 48) + 8,
    weightFormat: weightFormat === '' || quantMode === undefined ? undefined : weightFormat,
  };
  for (const operators of operatorsList) {
    const compileStart = performance.now();
    const compiled: RuntimeGPT = await compile(model, {
      ...compileOptions,
      batch,
      engine,
      allowSoftwareAdapter,
      operators,
      sessionOptions: {
        ...threadOptions,
        ...(verbose ? { logSeverityLevel: 0 } : {}),
      },
    });
    const compileMs = performance.now() - compileStart;
    const cacheVersusRecompute = skipChecks ? Number.NaN : await cacheCheck(compiled, prompt);
    /** One configuration's row from its generate timings (median over the repeats), kept if cut short. */
    const addRow = (choice: Row['choice'], timings: readonly GenerateTimings[]) => {
      const prefillMs = median(timings.map((timing) => timing.prefillMs));
      rows.push({
        engine: compiled.engine,
        batch,
        mode,
        dtype,
        operators,
        choice,
        device:
          compiled instanceof KernelGPT
            ? `webgpu (${compiled.adapterName})`
            : (compiled as CompiledGPT).device,
        weightFormat: compiled instanceof CompiledGPT ? (compiled.weightFormat ?? '-') : 'kernel codes',
        compileMs: Math.round(compileMs),
        prefillMs,
        // Every row's prompt tokens.
        prefillTokensPerSecond: (batch * promptLength * 1000) / prefillMs,
        decodeTokensPerSecond: median(timings.map((timing) => timing.tokensPerSecond)),
        cacheVersusRecompute,
      });
      console.error(JSON.stringify(rows.at(-1)));
      writeResults();
    };
    // One decode step's wall time on its own (no sampling), to set against generate's.
    if (!skipChecks) {
      const { cache } = await compiled.prefill(ids(prompt));
      const steps: number[] = [];
      for (let step = 0; step < 48; step += 1) {
        const started = performance.now();
        await compiled.decodeStep(cache, [(step * 31) % shape.vocabSize]);
        steps.push(performance.now() - started);
      }
      cache.dispose();
      console.error(
        `${mode}/${dtype} ${operators}: decodeStep median ${median(steps.slice(8)).toFixed(2)} ms`,
      );
    }
    // Tokens chosen in the graph (the default where the graph can) and on the host, same session.
    const choices: Array<'device' | 'host'> = compiled.choosesTokens
      ? deviceChoiceOnly
        ? ['device']
        : ['device', 'host']
      : ['host'];
    let reference: string | undefined;
    for (const choice of choices) {
      const generateOptions = {
        maxNewTokens: newTokens,
        stopAtEos: false,
        chooseOnDevice: choice === 'device',
        tokensPerRead,
      };
      await generate(compiled, prompts, { ...generateOptions, maxNewTokens: 8 }); // warm-up
      const timings = [];
      // Time spent inside the session's run calls (the host's side of the steps), per generate;
      // the kernels engine has no session.
      const session = compiled instanceof CompiledGPT ? compiled.session : undefined;
      const run = session?.run.bind(session);
      let inRunMs = 0;
      if (session !== undefined && run !== undefined) {
        session.run = (async (...args: Parameters<typeof run>) => {
          const started = performance.now();
          try {
            return await run(...args);
          } finally {
            inRunMs += performance.now() - started;
          }
        }) as typeof session.run;
      }
      const runShares: string[] = [];
      for (let repeat = 0; repeat < repeats; repeat += 1) {
        inRunMs = 0;
        const result = await generate(compiled, prompts, generateOptions);
        const totalMs = result.timings.prefillMs + result.timings.decodeMs;
        runShares.push(
          session === undefined
            ? `${result.timings.tokensPerSecond.toFixed(1)} tok/s`
            : `${result.timings.tokensPerSecond.toFixed(0)} tok/s, ${((inRunMs / totalMs) * 100).toFixed(0)}% in run`,
        );
        timings.push(result.timings);
        // Both choices must give the same tokens (every row's).
        const made = result.newTokens.map((tokens) => tokens.join(',')).join(';');
        reference ??= made;
        if (made !== reference) {
          throw new Error(`${mode}/${dtype} ${operators} ${choice}: tokens differ from the first run`);
        }
      }
      if (session !== undefined && run !== undefined) session.run = run;
      console.error(`${mode}/${dtype} ${operators} ${choice}: ${runShares.join('; ')}`);
      addRow(choice, timings);
    }
    if (sample && batch === 1 && compiled instanceof KernelGPT) {
      // generate samples on the device with the kernels engine (sampledChunks), from the seed's draws.
      const options = {
        maxNewTokens: newTokens,
        stopAtEos: false,
        temperature: 0.8,
        topK: 40,
        seed: 1,
        tokensPerRead,
      };
      await generate(compiled, prompt, { ...options, maxNewTokens: 8 }); // warm-up
      const timings = [];
      for (let repeat = 0; repeat < repeats; repeat += 1)
        timings.push((await generate(compiled, prompt, options)).timings);
      addRow('device-sampled', timings);
    }
    await compiled.release();

    if (profile && operators === 'fused' && engine === 'onnxruntime') {
      // Decode steps: a short greedy generate, skipping the prefill and the first step (shader
      // compilation). Prefill: the prompt alone, run six times, skipping the first.
      const runs = {
        decode: async (profiled: CompiledGPT) => {
          await generate(profiled, prompt, { maxNewTokens: Math.min(24, newTokens), stopAtEos: false });
          return 2;
        },
        prefill: async (profiled: CompiledGPT) => {
          for (let run = 0; run < 6; run += 1) (await profiled.prefill(ids(prompt))).cache.dispose();
          return 1;
        },
      };
      for (const [phase, runProfiled] of Object.entries(runs)) {
        const prefix = profilePrefix(`${mode}-${dtype}-${phase}`);
        const profiled = await compile(model, {
          ...compileOptions,
          operators,
          sessionOptions: { ...providerExtra, enableProfiling: true, profileFilePrefix: prefix },
        });
        const skipRuns = await runProfiled(profiled);
        await profiled.release(); // writes the profile
        const summary = takeProfile(prefix, skipRuns);
        if (summary === undefined) continue;
        profiles[`${mode}/${dtype}/${phase}`] = summary;
        printTable(
          `${mode}/${dtype} fused, per ${phase} run: model_run median ${summary.runMs.toFixed(2)} ms`,
          ['op', 'provider', 'nodes', 'µs per run'],
          summary.operators.map((cost) => [cost.op, cost.provider, cost.nodes, cost.microsecondsPerRun]),
        );
        if (summary.otherEvents.length > 0) {
          printTable(
            `${mode}/${dtype} fused, ${phase}, other profile events (all runs): ${summary.otherEventTotals.countPerRun.toFixed(0)} per run, ${summary.otherEventTotals.microsecondsPerRun.toFixed(0)} µs per run in all`,
            ['event', 'count', 'µs per run'],
            summary.otherEvents.map((entry) => [entry.event, entry.count, entry.microsecondsPerRun]),
          );
        }
      }
    }
  }
}

const host = machine();
printTable(
  `Decode, ${shapeName} shape, random weights, prompt ${promptLength}, ${newTokens} new tokens, batch ${batch}, median of ${repeats}, ${tokensPerRead} tokens per read, WebGPU config ${JSON.stringify(webgpuConfig)} — ${host.gpu ?? 'no GPU'}; ${host.cpu} × ${host.cores}; Node ${host.node}`,
  [
    'engine',
    'mode',
    'dtype',
    'operators',
    'tokens chosen',
    'device',
    'weights',
    'prefill ms',
    'prefill tok/s',
    'decode tok/s',
    'cache vs recompute',
  ],
  rows.map((row) => [
    row.engine,
    row.mode,
    row.dtype,
    row.operators,
    row.choice,
    row.device,
    row.weightFormat,
    row.prefillMs,
    row.prefillTokensPerSecond,
    row.decodeTokensPerSecond,
    row.cacheVersusRecompute.toExponential(1),
  ]),
);
writeResults();
