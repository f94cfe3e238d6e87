// Host time of what the quality check prepares before onnxruntime sees a graph, on a GPU's settings
// (float16 runtime weights, the WebGPU weight format, split long products): for each segment of the
// unquantized and the int4 model, making its runtime state (`hfRuntimeSegments` /
// `quantizedRuntimeSegments`: transposes, casts, fake quantization) and building its graph
// (`buildSegmentGraph`). No session is opened, so it runs on any machine; on a GPU this host work is
// most of the check. A GPT-2-124M-shaped checkpoint with random weights; int4 calibrates on the CPU
// with 2 samples of 32 tokens (its time is not counted).
//
//   tsup --config ../../tooling/bench/tsup.config.ts --silent bench/check-preparation.ts
//   node ../../.bench/check-preparation.js [--model <folder>] [--rounds 3] [--out results.json]
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadHfGpt2 } from '@ptq/hf-gpt2';
import { buildSegmentGraph, type GPTSegments, resolveWeightFormat, segmentRanges } from '@ptq/nanogpt';
import { modelOptQuantize } from '@ptq/quant-core';
import { writeRandomGpt2 } from '../../../tooling/bench/random-gpt2';
import { flag, machine, median, printTable, writeJson } from '../../../tooling/bench/report';
import { hfRuntimeSegments, quantizedRuntimeSegments } from '../src/index';

const which = flag('model', 'gpt2-124m');
const rounds = Number(flag('rounds', '3'));
const out = flag('out', 'bench-results/check-preparation.json');
const folder = which === 'gpt2-124m' ? await writeRandomGpt2(join(tmpdir(), 'ptq-bench-gpt2-124m')) : which;

/** Milliseconds making every segment's state, and building every segment's graph. */
async function prepare(
  segments: GPTSegments,
  quantMode: 'int4-weight-only' | undefined,
): Promise<{ state: number; graph: number; segments: number }> {
  const weightFormat = resolveWeightFormat(quantMode, 'webgpu');
  const ranges = segmentRanges(segments.config);
  let state = 0;
  let graph = 0;
  for (const layers of ranges) {
    const started = performance.now();
    const segment = await segments.segment(layers);
    const made = performance.now();
    buildSegmentGraph(segment, {
      first: layers.start === 0,
      last: layers.end === segments.config.numLayers,
      incomingBias: undefined,
      weightFormat,
      splitLongProducts: true,
    });
    state += made - started;
    graph += performance.now() - made;
  }
  return { state, graph, segments: ranges.length };
}

const quiet = { log: () => {}, onNotice: () => {} };
const quantized = await modelOptQuantize(await loadHfGpt2(folder, { device: 'cpu', ...quiet }), {
  mode: 'int4-weight-only',
  ...quiet,
  numSamples: 2,
  batchSize: 2,
  maxSampleLength: 32,
  device: 'cpu',
});
const hf = await loadHfGpt2(folder, { device: 'cpu', ...quiet });
const measured = {
  unquantized: [] as { state: number; graph: number }[],
  int4: [] as { state: number; graph: number }[],
};
let segmentCount = 0;
for (let round = 0; round < rounds; round++) {
  const unquantized = await prepare(hfRuntimeSegments(hf, 'float16'), undefined);
  const int4 = await prepare(quantizedRuntimeSegments(quantized, 'float16'), 'int4-weight-only');
  measured.unquantized.push(unquantized);
  measured.int4.push(int4);
  segmentCount = unquantized.segments;
}
const host = machine();
const rows = Object.entries(measured).map(([model, runs]) => [
  model,
  segmentCount,
  median(runs.map((run) => run.state)) / 1000,
  median(runs.map((run) => run.graph)) / 1000,
  median(runs.map((run) => run.state + run.graph)) / 1000,
]);
printTable(
  `The check's host preparation, float16 on WebGPU's settings, ${which} (${host.cpu}, ${host.cores} cores, Node ${host.node}; median of ${rounds})`,
  ['model', 'segments', 'state s', 'graph s', 'total s'],
  rows,
);
writeJson(out, { benchmark: 'check preparation', model: which, machine: host, rounds, measured });
