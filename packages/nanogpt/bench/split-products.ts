// Prefill (a whole prompt through the single-row graph) and decode step time of fused graphs with
// and without split long products (`compile`'s `splitLongProducts`), alternated in one process so
// both share the host's load; prompt lengths up to GPT-2's 1024. Both graphs must give the same
// logits to float rounding.
//
//   node .bench/split-products.js --device webgpu --lengths 1,32,128,512,1024 --out split-products.json
import type { Device } from '@ptq/onnx';
import { createTensor } from '@ptq/tensor';
import { flag, machine, median, printTable, writeJson } from '../../../tooling/bench/report';
import {
  type CompiledGPT,
  compile,
  GPT,
  initializeWeights,
  type ModelDType,
  type QuantMode,
} from '../src/index';

const device = flag('device', 'auto') as Device;
const lengths = flag('lengths', '1,32,128,512,1024').split(',').map(Number);
const repeats = Number(flag('repeats', '5'));
const only = flag('only', 'none/float16,none/float32,float8/float16');
const out = flag('out', 'bench-results/split-products.json');
const shape = { numLayers: 12, numHeads: 12, embeddingSize: 768, vocabSize: 50257, blockSize: 1024 };

interface Row {
  mode: string;
  dtype: ModelDType;
  tokens: number;
  device: string;
  wholeMs: number;
  splitMs: number;
  maxDifference: number;
}
const rows: Row[] = [];
for (const entry of only.split(',')) {
  const [mode, dtype] = entry.split('/') as [string, ModelDType];
  const quantMode = mode === 'none' ? undefined : (mode as QuantMode);
  const model = new GPT({ ...shape, quantMode, dtype });
  initializeWeights(model, { seed: 1 });
  const sessions: Record<'whole' | 'split', CompiledGPT> = {
    whole: await compile(model, { device, splitLongProducts: false }),
    split: await compile(model, { device, splitLongProducts: true }),
  };
  for (const tokens of lengths) {
    const ids = createTensor(
      'int64',
      [1, tokens],
      BigInt64Array.from({ length: tokens }, (_, index) => BigInt((index * 7919) % shape.vocabSize)),
    );
    const times: Record<'whole' | 'split', number[]> = { whole: [], split: [] };
    const logits: Partial<Record<'whole' | 'split', Float32Array>> = {};
    for (let round = 0; round < repeats + 1; round += 1) {
      for (const kind of ['whole', 'split'] as const) {
        const started = performance.now();
        const result = await sessions[kind].forward(ids);
        const elapsed = performance.now() - started;
        if (round > 0) times[kind].push(elapsed); // the first round compiles shaders
        logits[kind] = result.logits.data;
      }
    }
    let maxDifference = 0;
    logits.whole!.forEach((value, index) => {
      maxDifference = Math.max(maxDifference, Math.abs(value - logits.split![index]!));
    });
    rows.push({
      mode,
      dtype,
      tokens,
      device: sessions.whole.device,
      wholeMs: median(times.whole),
      splitMs: median(times.split),
      maxDifference,
    });
    console.error(JSON.stringify(rows.at(-1)));
  }
  await sessions.whole.release();
  await sessions.split.release();
  writeJson(out, { machine: machine(), repeats, rows });
}

const host = machine();
printTable(
  `Forward of one prompt (logits read back), split long products or whole, GPT-2-124M shape, random weights, median of ${repeats} alternated rounds — ${host.gpu ?? 'no GPU'}; ${host.cpu} × ${host.cores}; Node ${host.node}`,
  ['mode', 'dtype', 'tokens', 'device', 'whole ms', 'split ms', 'split / whole', 'max |Δ logit|'],
  rows.map((row) => [
    row.mode,
    row.dtype,
    row.tokens,
    row.device,
    row.wholeMs,
    row.splitMs,
    (row.splitMs / row.wholeMs).toFixed(2),
    row.maxDifference.toExponential(1),
  ]),
);
