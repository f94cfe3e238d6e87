// Forward throughput of the HF GPT-2 graph: tokens/s for one forward of batch 1 at several sequence
// lengths, for the default model and a GPT-2-124M-shaped checkpoint with random weights made on the
// fly. Run: pnpm bench  (or, bundled, node forward-throughput.mjs --device webgpu --out result.json)
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_MODEL_DIR } from '@ptq/default-model';
import type { Device } from '@ptq/onnx';
import { createTensor } from '@ptq/tensor';
import { writeRandomGpt2 } from '../../../tooling/bench/random-gpt2';
import { flag, machine, median, printTable, time, writeJson } from '../../../tooling/bench/report';
import { loadHfGpt2 } from '../src/index';

const device = flag('device', 'cpu') as Device;
const out = flag('out', 'bench-results/hf-gpt2-forward.json');
const runs = Number(flag('runs', '5'));
const lengths = flag('lengths', '1,128,1024').split(',').map(Number);

const models: [string, string][] = [
  ['default (4×256)', DEFAULT_MODEL_DIR],
  ['gpt2-124M (random)', await writeRandomGpt2(join(tmpdir(), 'ptq-bench-gpt2-124m'))],
];
const rows: (string | number)[][] = [];
const results = [];
for (const [name, folder] of models) {
  const model = await loadHfGpt2(folder, { device, onNotice: (line) => console.error(line) });
  for (const length of lengths) {
    const ids = createTensor(
      'int64',
      [1, length],
      BigInt64Array.from({ length }, (_, index) => BigInt((index * 7919) % 5000)),
    );
    const mask = createTensor('int64', [1, length], new BigInt64Array(length).fill(1n));
    const times = await time(() => model.forward(ids, mask), runs, 2);
    const ms = median(times);
    rows.push([name, model.device ?? device, length, ms, (length / ms) * 1000]);
    results.push({
      model: name,
      device: model.device,
      length,
      medianMs: ms,
      tokensPerSecond: (length / ms) * 1000,
      runsMs: times,
    });
  }
  await model.dispose();
}
const host = machine();
printTable(
  `HF GPT-2 forward, batch 1 (${host.cpu}, ${host.cores} cores${host.gpu ? `, ${host.gpu}` : ''}, Node ${host.node}; median of ${runs})`,
  ['model', 'device', 'tokens', 'ms', 'tokens/s'],
  rows,
);
writeJson(out, { benchmark: 'hf-gpt2 forward', machine: host, runs, results });
