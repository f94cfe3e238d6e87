// Calibration + quantization wall time of modelOptQuantize per mode (the seed's defaults: int8/fp8 64
// samples batch 1, int4 16 samples batch 16, cnn_dailymail), for the default model or a
// GPT-2-124M-shaped checkpoint with random weights. Loading is not timed.
// Run: pnpm bench  (bundled: node quantize-time.mjs --model gpt2-124m --device webgpu --out r.json)
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_MODEL_DIR } from '@ptq/default-model';
import { loadHfGpt2 } from '@ptq/hf-gpt2';
import type { Device } from '@ptq/onnx';
import { writeRandomGpt2 } from '../../../tooling/bench/random-gpt2';
import { flag, machine, median, printTable, writeJson } from '../../../tooling/bench/report';
import { modelOptQuantize, QUANT_MODES } from '../src/index';

const device = flag('device', 'cpu') as Device;
const which = flag('model', 'default');
const out = flag('out', `bench-results/quantize-time-${which}.json`);
const runs = Number(flag('runs', '1'));
const folder =
  which === 'gpt2-124m' ? await writeRandomGpt2(join(tmpdir(), 'ptq-bench-gpt2-124m')) : DEFAULT_MODEL_DIR;

const rows: (string | number)[][] = [];
const results = [];
for (const mode of QUANT_MODES) {
  const seconds: number[] = [];
  let usedDevice: string | undefined;
  for (let run = 0; run < runs; run++) {
    const model = await loadHfGpt2(folder, { device, onNotice: () => {} });
    const started = performance.now();
    const quantized = await modelOptQuantize(model, mode, { device, log: () => {}, onNotice: () => {} });
    seconds.push((performance.now() - started) / 1000);
    usedDevice = model.device ?? device;
    await quantized.model.dispose();
  }
  rows.push([mode, usedDevice ?? device, median(seconds)]);
  results.push({ mode, device: usedDevice, medianSeconds: median(seconds), runsSeconds: seconds });
}
const host = machine();
printTable(
  `modelOptQuantize wall time, ${which} model (${host.cpu}, ${host.cores} cores${host.gpu ? `, ${host.gpu}` : ''}, Node ${host.node}; median of ${runs})`,
  ['mode', 'device', 'seconds'],
  rows,
);
writeJson(out, { benchmark: 'modelOptQuantize wall time', model: which, machine: host, runs, results });
