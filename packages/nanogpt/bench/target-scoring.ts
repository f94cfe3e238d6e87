// Perplexity's inner step on one window, two ways, alternated in one process: `forward` with the
// logits read back and log-softmaxed in JavaScript (what `ptq eval` did), against
// `targetLogProbabilities`, whose log softmax runs in onnxruntime where the logits are.
//
//   node .bench/target-scoring.js --device cpu --lengths 512,1024 --out target-scoring.json
import { logitsScorer } from '@ptq/hf-gpt2';
import type { Device } from '@ptq/onnx';
import { createTensor } from '@ptq/tensor';
import { flag, machine, median, printTable, writeJson } from '../../../tooling/bench/report';
import { compile, GPT, initializeWeights } from '../src/index';

const device = flag('device', 'auto') as Device;
const lengths = flag('lengths', '512,1024').split(',').map(Number);
const repeats = Number(flag('repeats', '3'));
const out = flag('out', 'bench-results/target-scoring.json');
const vocab = 50257;
const model = new GPT({ numLayers: 12, numHeads: 12, embeddingSize: 768, vocabSize: vocab, blockSize: 1024 });
initializeWeights(model, { seed: 1 });
const compiled = await compile(model, { device });

// The former path itself: `forward`, then `@ptq/hf-gpt2`'s float64 log softmax on the host.
const hostScorer = logitsScorer((ids, mask) => compiled.forward(ids, mask), compiled.maxSequence);

const rows: Array<{ tokens: number; hostMs: number; graphMs: number; maxDifference: number }> = [];
for (const length of lengths) {
  const ids = createTensor(
    'int64',
    [1, length],
    BigInt64Array.from({ length }, (_, i) => BigInt((i * 7919) % vocab)),
  );
  const next = new BigInt64Array(length);
  next.set(ids.data.subarray(1));
  const targets = createTensor('int64', [1, length], next);
  const times = { host: [] as number[], graph: [] as number[] };
  let maxDifference = 0;
  for (let round = 0; round <= repeats; round += 1) {
    let started = performance.now();
    const host = await hostScorer.logProbabilities(ids.data, next);
    const hostMs = performance.now() - started;
    started = performance.now();
    const graph = (await compiled.targetLogProbabilities(ids, targets)).data;
    const graphMs = performance.now() - started;
    if (round === 0) continue; // warm-up
    times.host.push(hostMs);
    times.graph.push(graphMs);
    for (let p = 0; p < length; p += 1) {
      maxDifference = Math.max(maxDifference, Math.abs(host[p]! - graph[p]!));
    }
  }
  rows.push({ tokens: length, hostMs: median(times.host), graphMs: median(times.graph), maxDifference });
  console.error(JSON.stringify(rows.at(-1)));
}
await compiled.release();
const host = machine();
writeJson(out, { machine: host, device: compiled.device, repeats, rows });
printTable(
  `One window's target log-probabilities, GPT-2-124M shape, float32, random weights, ${compiled.device}, median of ${repeats} — ${host.gpu ?? 'no GPU'}; ${host.cpu} × ${host.cores}; Node ${host.node}`,
  ['tokens', 'forward + JavaScript ms', 'in the graph ms', 'max |Δ log p|'],
  rows.map((row) => [row.tokens, row.hostMs, row.graphMs, row.maxDifference.toExponential(1)]),
);
