// Where one AWQ search run's time goes on a GPU: the loss graphs of `AwqSearchGraphs` for a linear
// of GPT-2-124M's shape (16 × 512 tokens, 10 candidates a run): the outputs form in its GPU and CPU
// graphs, the Gram form's loss graph (GPU graph; `h` [in, in] instead of the tokens) and its
// accumulation of one batch into H (`gram-accumulate`: x [tokens, in] and h). Wall time per run
// (inputs uploaded from the host each run), then the GPU's time per shader program from
// onnxruntime's profile (timestamp queries; a node on the CPU shows no program). With `--device
// cpu`, the CPU forms (outputs and Gram) on the CPU provider and onnxruntime's time per operator
// instead (`--shape gpt2-large --tokens 64 --candidates 1`: GPT-2-large's int4 command at 2 × 32
// tokens, one candidate a run as the CPU's search budget allows there).
// Run: node .bench/awq-search-profile.js [--device webgpu|cpu] [--shape gpt2-124m|gpt2-large]
//   [--tokens 8192] [--candidates 10] [--runs 5] [--out file.json]
import { DeviceTensorReader, toOrtTensor } from '@ptq/onnx';
import { serializeModel } from '@ptq/onnx-format';
import { createTensor } from '@ptq/tensor';
import { InferenceSession, type Tensor as OrtTensor } from 'onnxruntime-node';
import { profilePrefix, takeProfile } from '../../../tooling/bench/onnxruntime-profile';
import { flag, machine, median, printTable, time, writeJson } from '../../../tooling/bench/report';
import { awqGramLossGraph, inputGramGraph } from '../src/awq-gram-graph';
import { awqLossGraph } from '../src/awq-search-graph';

const runs = Number(flag('runs', '5'));
const out = flag('out', 'bench-results/awq-search-profile.json');
const device = flag('device', 'webgpu') as 'webgpu' | 'cpu';
const tokens = Number(flag('tokens', String(16 * 512)));
const candidates = Number(flag('candidates', '10'));
/** A GPT-2 shape's four linears, [in, out] each. */
function linearsOf(width: number): [string, number, number][] {
  return [
    ['attn.c_attn', width, 3 * width],
    ['attn.c_proj', width, width],
    ['mlp.c_fc', width, 4 * width],
    ['mlp.c_proj', 4 * width, width],
  ];
}
const SHAPES = linearsOf(flag('shape', 'gpt2-124m') === 'gpt2-large' ? 1280 : 768);

let seed = 1;
function random(length: number, scale: number): Float32Array {
  const values = new Float32Array(length);
  for (let index = 0; index < length; index++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    values[index] = ((seed / 2 ** 32) * 2 - 1) * scale;
  }
  return values;
}

const reader = new DeviceTensorReader(device);
const rows: (string | number)[][] = [];
const results = [];
const ALL_FORMS = ['gpu', 'cpu', 'gram-gpu', 'gram-cpu', 'gram-accumulate'] as const;
type Form = (typeof ALL_FORMS)[number];
// The CPU provider runs the CPU graphs only (its Round exists; the GPU forms work around WebGPU's).
const FORMS: readonly Form[] =
  device === 'cpu' ? ['cpu', 'gram-cpu', 'gram-accumulate'] : ['gpu', 'cpu', 'gram-gpu', 'gram-accumulate'];
function modelOf(form: Form): Uint8Array {
  if (form === 'gram-gpu' || form === 'gram-cpu') {
    return serializeModel(awqGramLossGraph(128, false, { forGpu: form === 'gram-gpu' }));
  }
  if (form === 'gram-accumulate') return serializeModel(inputGramGraph(true));
  return serializeModel(awqLossGraph(128, false, { forGpu: form === 'gpu' }));
}
/** The feeds each graph takes of the full set (the Gram loss takes no tokens; the accumulation only x and h). */
const FEEDS: Record<Form, string[]> = {
  gpu: ['x', 'w', 'b', 'y', 's', 'inverse_s'],
  cpu: ['x', 'w', 'b', 'y', 's', 'inverse_s'],
  'gram-gpu': ['w', 'h', 's', 'inverse_s'],
  'gram-cpu': ['w', 'h', 's', 'inverse_s'],
  'gram-accumulate': ['x', 'h'],
};
for (const form of FORMS)
  for (const [name, inFeatures, outFeatures] of SHAPES) {
    const model = modelOf(form);
    const all: Record<string, OrtTensor> = {
      x: toOrtTensor(createTensor('float32', [tokens, inFeatures], random(tokens * inFeatures, 2))),
      w: toOrtTensor(
        createTensor('float32', [outFeatures, inFeatures], random(outFeatures * inFeatures, 0.05)),
      ),
      b: toOrtTensor(createTensor('float32', [outFeatures], random(outFeatures, 0.01))),
      // The unquantized product, computed once per batch outside the loss graph.
      y: toOrtTensor(createTensor('float32', [tokens, outFeatures], random(tokens * outFeatures, 1))),
      s: toOrtTensor(
        createTensor(
          'float32',
          [candidates, 1, inFeatures],
          random(candidates * inFeatures, 1).map((v) => 1 + v / 2),
        ),
      ),
      inverse_s: toOrtTensor(
        createTensor(
          'float32',
          [candidates, 1, inFeatures],
          random(candidates * inFeatures, 1).map((v) => 1 / (1 + v / 2)),
        ),
      ),
      h: toOrtTensor(createTensor('float32', [inFeatures, inFeatures], random(inFeatures * inFeatures, 1))),
    };
    const feeds = Object.fromEntries(FEEDS[form].map((feed) => [feed, all[feed]!]));
    const output = form === 'gram-accumulate' ? 'gram' : 'losses';
    const options: InferenceSession.SessionOptions =
      device === 'cpu'
        ? { executionProviders: ['cpu'] }
        : { executionProviders: ['webgpu'], preferredOutputLocation: 'gpu-buffer' };
    const session = await InferenceSession.create(model, options);
    // `x` uploaded once, as a block session's captured input arrives.
    const first = await session.run(feeds);
    (first[output] as OrtTensor).dispose();
    const runOnce = async () => {
      const result = await session.run(feeds);
      const losses = result[output] as OrtTensor;
      await reader.read([losses]);
      losses.dispose();
    };
    const wall = await time(runOnce, runs, 1);
    await session.release();
    const prefix = profilePrefix(`awq-${name}`);
    const profiled = await InferenceSession.create(model, {
      ...options,
      enableProfiling: true,
      profileFilePrefix: prefix,
    });
    for (let run = 0; run < 4; run++) {
      const result = await profiled.run(feeds);
      (result[output] as OrtTensor).dispose();
    }
    await profiled.release();
    const programs: Record<string, number> = {};
    const profile = takeProfile(prefix, 1, Number.POSITIVE_INFINITY);
    if (device === 'cpu') {
      // The CPU provider's time per operator (its kernels run on the host, inside the run).
      for (const { op, microsecondsPerRun } of profile?.operators ?? []) programs[op] = microsecondsPerRun;
    }
    for (const { event, microsecondsPerRun } of device === 'cpu' ? [] : (profile?.otherEvents ?? [])) {
      const program = event.split('&').slice(1).join('&') || event;
      programs[program] = (programs[program] ?? 0) + microsecondsPerRun;
    }
    const top = Object.entries(programs).sort((a, b) => b[1] - a[1]);
    const gpuMs = top.reduce((sum, [, value]) => sum + value, 0) / 1000;
    rows.push([
      form,
      name,
      inFeatures,
      outFeatures,
      median(wall),
      gpuMs,
      top
        .slice(0, 4)
        .map(([program, us]) => `${program} ${(us / 1000).toFixed(1)}`)
        .join('; '),
    ]);
    results.push({
      form,
      linear: name,
      inFeatures,
      outFeatures,
      tokens,
      candidates,
      wallMs: wall,
      gpuMsPerRun: gpuMs,
      programs: top,
    });
    console.error(JSON.stringify(rows.at(-1)));
  }
await reader.release();
const host = machine();
printTable(
  `AWQ search run, ${candidates} candidates, ${tokens} tokens, inputs already fed, ${device} (${device === 'cpu' ? host.cpu : (host.gpu ?? 'no GPU')}; median of ${runs})`,
  [
    'graph form',
    'linear',
    'in',
    'out',
    'wall ms',
    device === 'cpu' ? 'operators ms' : 'GPU ms (timestamps)',
    device === 'cpu' ? 'largest operators (ms)' : 'largest programs (ms)',
  ],
  rows,
);
writeJson(out, { benchmark: 'AWQ search run profile', machine: host, device, tokens, candidates, results });
