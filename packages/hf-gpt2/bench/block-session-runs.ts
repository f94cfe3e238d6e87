// Opening a block session and its first and second runs, per block and tap set, on the bundled
// model, a GPT-2-124M-shaped random checkpoint (`--model gpt2-124m`) or a model folder: one batch of
// `--batch` rows × 512 tokens, taps as calibration asks for them (on WebGPU with the hidden state and
// captured inputs kept on the device). Shows what a block's first run costs over later ones (fresh
// pages, kernel set-up) and, with `--profile`, where a run's time goes: onnxruntime's per-node host
// time and provider, and on WebGPU the GPU's time per shader program (timestamp queries).
// Run: tsup --config ../../tooling/bench/tsup.config.ts --silent bench/block-session-runs.ts &&
//   node ../../.bench/block-session-runs.js [--model <folder>|gpt2-124m] [--device cpu] [--batch 16]
//   [--taps none,AWQ,max] [--weights-as-inputs] [--cache-mode simple] [--head-groups 2] [--profile] [--out file.json]
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_MODEL_DIR } from '@ptq/default-model';
import { type Device, DeviceTensorReader, isOrtTensor } from '@ptq/onnx';
import { serializeModel } from '@ptq/onnx-format';
import { createTensor } from '@ptq/tensor';
import { profilePrefix, takeProfile } from '../../../tooling/bench/onnxruntime-profile';
import { writeRandomGpt2 } from '../../../tooling/bench/random-gpt2';
import { flag, machine, printTable, writeJson } from '../../../tooling/bench/report';
import {
  buildGpt2BlockGraph,
  disposeHiddenState,
  embedBatch,
  Gpt2BlockSession,
  gpt2LinearPaths,
  loadHfGpt2,
  normalizeTaps,
  type TapRequest,
} from '../src/index';

const which = flag('model', DEFAULT_MODEL_DIR);
const device = flag('device', 'cpu') as Device;
const batch = Number(flag('batch', '16'));
const profile = process.argv.includes('--profile');
// Which tap sets run: a comma-separated list of the first words of their names (none, AWQ, max).
const only = flag('taps', 'none,AWQ,max').split(',');
const weightsAsInputs = process.argv.includes('--weights-as-inputs');
// onnxruntime's WebGPU buffer cache (`bucket` by default: buffers over 160 MiB are made anew each run).
const cacheMode = flag('cache-mode', '');
const attentionHeadGroups = Number(flag('head-groups', '1'));
const providerSettings =
  cacheMode === ''
    ? {}
    : { extra: { ep: { webgpuexecutionprovider: { storageBufferCacheMode: cacheMode } } } };
const out = flag('out', 'bench-results/block-session-runs.json');
const sequence = 512;
const folder = which === 'gpt2-124m' ? await writeRandomGpt2(join(tmpdir(), 'ptq-bench-gpt2-124m')) : which;
const model = await loadHfGpt2(folder, { device, onNotice: () => {} });
const count = batch * sequence;
const ids = createTensor(
  'int64',
  [batch, sequence],
  BigInt64Array.from({ length: count }, (_, i) => BigInt((i * 7919) % model.config.vocab_size)),
);
const mask = createTensor('int64', [batch, sequence], new BigInt64Array(count).fill(1n));
const realTokenIndices = Array.from({ length: count }, (_, index) => index);
const hidden = embedBatch(model.transformer, ids, mask);
const source = {
  config: model.config,
  transformer: model.transformer,
  linear: (path: string) => model.linear(path),
};
const keepOnDevice = device === 'webgpu';
// onnxruntime-node cannot read a gpu-buffer tensor itself; this copies them out, as calibration does.
const reader = keepOnDevice ? new DeviceTensorReader('webgpu') : undefined;
const TAP_SETS: Record<string, (module: string) => TapRequest | undefined> = {
  none: () => undefined,
  // As block-by-block calibration asks for AWQ's linears (the weight copy only on the device).
  'AWQ (mean abs, inputs)': (module) => ({
    module,
    absMeanPerChannel: true,
    input: true,
    ...(keepOnDevice ? { weight: true } : {}),
  }),
  'max abs': (module) => ({ module, absMax: true }),
};
const rows: (string | number)[][] = [];
const results = [];
for (const [name, tap] of Object.entries(TAP_SETS)) {
  if (!only.includes(name.split(' ')[0]!)) continue;
  for (const layer of [0, 1]) {
    const paths = gpt2LinearPaths(model.config.n_layer).filter((path) =>
      path.startsWith(`transformer.h.${layer}.`),
    );
    const taps = paths.map(tap).filter((request) => request !== undefined);
    // The graph alone, to split opening into building it and onnxruntime's session creation.
    let started = performance.now();
    const graph = buildGpt2BlockGraph(source, {
      layer,
      taps: normalizeTaps(taps, gpt2LinearPaths(model.config.n_layer)),
      outputs: true,
      weightsAsInputs,
      attentionHeadGroups,
    });
    const bytes = serializeModel(graph.model).byteLength;
    const build = performance.now() - started;
    const prefix = profilePrefix(`block-${layer}-${name.split(' ')[0]}`);
    started = performance.now();
    const session = await Gpt2BlockSession.open(source, layer, taps, {
      device,
      outputs: true,
      keepOnDevice,
      weightsAsInputs,
      attentionHeadGroups,
      sessionOptions: {
        ...providerSettings,
        ...(profile ? { enableProfiling: true, profileFilePrefix: prefix } : {}),
      },
    });
    const open = performance.now() - started;
    const times = [];
    for (let run = 0; run < 3; run++) {
      started = performance.now();
      const result = await session.run({ ...hidden, attentionMask: mask, realTokenIndices });
      // Reading a device output waits for the GPU, as calibration's next step does.
      const onDevice = [...result.taps.values()]
        .flatMap((found) => [found.deviceInput, found.weight, found.bias])
        .filter((value) => value !== undefined && isOrtTensor(value));
      if (result.next !== undefined && isOrtTensor(result.next.residual)) onDevice.push(result.next.residual);
      if (reader !== undefined && onDevice.length > 0) {
        const last = onDevice.at(-1)!;
        (await reader.read([last])).dispose();
      }
      for (const value of onDevice) if (value !== result.next?.residual) value.dispose();
      if (result.next !== undefined) disposeHiddenState(result.next);
      times.push(performance.now() - started);
    }
    await session.release();
    const summary = profile ? takeProfile(prefix, 1, 12) : undefined;
    rows.push([name, layer, bytes / 2 ** 20, build, open - build, times[0]!, times[1]!, times[2]!]);
    results.push({
      taps: name,
      layer,
      graphMiB: bytes / 2 ** 20,
      buildMs: build,
      sessionCreateMs: open - build,
      runMs: times,
      ...(summary
        ? {
            profile: {
              runMs: summary.runMs,
              operators: summary.operators.slice(0, 15),
              gpuPrograms: summary.otherEvents,
              otherEventTotals: summary.otherEventTotals,
            },
          }
        : {}),
    });
    if (summary) {
      console.error(`${name}, block ${layer}: ${JSON.stringify(summary.operators.slice(0, 8))}`);
      console.error(`  GPU: ${JSON.stringify(summary.otherEvents.slice(0, 6))}`);
    }
  }
}
await reader?.release();
const host = machine();
printTable(
  `Block sessions of ${which === DEFAULT_MODEL_DIR ? 'the bundled model' : which}, ${batch} × ${sequence} tokens, ${device} (${host.gpu ?? host.cpu}, ${host.cores} cores)`,
  ['taps', 'block', 'graph MiB', 'build ms', 'session create ms', 'run 1 ms', 'run 2 ms', 'run 3 ms'],
  rows,
);
writeJson(out, { benchmark: 'block session runs', machine: host, batch, sequence, device, results });
