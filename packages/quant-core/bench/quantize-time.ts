// Calibration + quantization wall time of modelOptQuantize per mode (the seed's defaults: int8/fp8 64
// samples batch 1, int4 16 samples batch 16, cnn_dailymail), for the default model or a
// GPT-2-124M-shaped checkpoint with random weights. Loading is not timed.
// Run: pnpm bench  (bundled: node quantize-time.mjs --model gpt2-124m --device webgpu --out r.json
// [--modes int4-weight-only] [--runs 3] [--awq-loss-form auto|outputs|gram] [--samples 2 --length 32]
// [--weights in-memory|on-demand] [--device-start untimed|timed]);
// --model also takes a checkpoint folder. Opening the kernels' device is not timed by default, as the
// PyTorch reference's CUDA context is made in its untimed load (`--device-start timed` times it in
// the first run); its seconds are in the JSON either way.
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { DEFAULT_MODEL_DIR } from '@ptq/default-model';
import { loadHfGpt2, type WeightResidence } from '@ptq/hf-gpt2';
import { sharedKernelDevice } from '@ptq/nanogpt';
import type { Device } from '@ptq/onnx';
import { writeRandomGpt2 } from '../../../tooling/bench/random-gpt2';
import { flag, machine, median, printTable, writeJson } from '../../../tooling/bench/report';
import {
  type AwqLossForm,
  type CalibrationEngine,
  modelOptQuantize,
  QUANT_MODES,
  type QuantizeProgress,
  type QuantMode,
} from '../src/index';

/**
 * Where the wall time goes, from the progress events' timestamps: the time before an event counts to
 * its phase — the calibration data (tokenizing, recording the batches), block runs (a block's first
 * batch includes opening its session), the AWQ search of one linear — and the rest (embedding,
 * quantizing the weights after the last event) to `other`.
 */
function phaseClock(started: number) {
  const seconds = { data: 0, blockOpenAndFirstRun: 0, blockRuns: 0, awqSearch: 0 };
  /** Seconds before each block's first progress event, block by block (the first includes what precedes it). */
  const blockStarts: number[] = [];
  /** How each linear's AWQ losses were computed (the Gram form's accumulation counts to block runs). */
  const lossForms: Record<string, string> = {};
  let last = started;
  return {
    seconds,
    lossForms,
    blockStarts,
    onProgress(event: QuantizeProgress): void {
      const now = performance.now();
      const elapsed = (now - last) / 1000;
      last = now;
      if (event.phase === 'calibrate') seconds.data += elapsed;
      else if (event.phase === 'calibrate-block') {
        if (event.batch === 1) {
          seconds.blockOpenAndFirstRun += elapsed;
          blockStarts.push(elapsed);
        } else seconds.blockRuns += elapsed;
      } else if (event.phase === 'awq-search') {
        seconds.awqSearch += elapsed;
        if (event.linear !== undefined && event.lossForm !== undefined)
          lossForms[event.linear] = event.lossForm;
      }
    },
  };
}

const device = flag('device', 'cpu') as Device;
const which = flag('model', 'default');
const out = flag('out', `bench-results/quantize-time-${basename(which)}.json`);
const runs = Number(flag('runs', '1'));
const modes = flag('modes', QUANT_MODES.join(',')).split(',') as QuantMode[];
const awqLossForm = flag('awq-loss-form', 'auto') as AwqLossForm;
const calibrationEngine = flag('calibration-engine', 'auto') as CalibrationEngine;
// Where the weights live (`loadHfGpt2`'s `weights`): read on demand, calibration reads them from the
// checkpoint (the OS's page cache after the load's check) and that time counts.
const weights = flag('weights', 'in-memory') as WeightResidence;
// Fewer or shorter calibration samples than the seed's, for a large checkpoint on a small machine.
const samples = flag('samples', '');
const length = flag('length', '');
const datasetOptions = {
  ...(samples === '' ? {} : { numSamples: Number(samples) }),
  ...(length === '' ? {} : { maxSampleLength: Number(length) }),
};
const folder =
  which === 'gpt2-124m'
    ? await writeRandomGpt2(join(tmpdir(), 'ptq-bench-gpt2-124m'))
    : which === 'default'
      ? DEFAULT_MODEL_DIR
      : which;

const deviceStart = flag('device-start', 'untimed');
if (deviceStart !== 'untimed' && deviceStart !== 'timed') throw new Error('--device-start: untimed or timed');
// The device calibration on the kernels keeps for the process, opened here when not timed.
let deviceStartSeconds: number | undefined;
if (deviceStart === 'untimed' && device === 'webgpu' && calibrationEngine !== 'onnxruntime') {
  const opening = performance.now();
  await sharedKernelDevice({ allowSoftwareAdapter: calibrationEngine === 'kernels' });
  deviceStartSeconds = (performance.now() - opening) / 1000;
}

const rows: (string | number)[][] = [];
const results = [];
for (const mode of modes) {
  const seconds: number[] = [];
  // The process's CPU time (every onnxruntime thread included) over the same span as `seconds`.
  const cpuSeconds: number[] = [];
  const phases: ReturnType<typeof phaseClock>['seconds'][] = [];
  let lossForms: Record<string, string> = {};
  let usedDevice: string | undefined;
  let calibrated: { awqAlphas: number[]; inputAmax: (string | number | undefined)[][] } | undefined;
  for (let run = 0; run < runs; run++) {
    const model = await loadHfGpt2(folder, { device, onNotice: () => {}, weights });
    const started = performance.now();
    const cpuStarted = process.cpuUsage();
    const clock = phaseClock(started);
    const quantized = await modelOptQuantize(model, mode, {
      device,
      awqLossForm,
      calibrationEngine,
      ...datasetOptions,
      log: () => {},
      onNotice: () => {},
      onProgress: clock.onProgress,
    });
    seconds.push((performance.now() - started) / 1000);
    const cpu = process.cpuUsage(cpuStarted);
    cpuSeconds.push((cpu.user + cpu.system) / 1e6);
    phases.push({
      ...clock.seconds,
      blockStarts: clock.blockStarts.map((value) => Number(value.toFixed(4))),
    });
    lossForms = clock.lossForms;
    // What calibration chose, to compare executions and devices: AWQ's alphas, fp8's input amax.
    calibrated = {
      awqAlphas: [...(quantized.awq ?? new Map()).values()].map((result) => result.alpha),
      inputAmax: [...quantized.linears]
        .filter(([, linear]) => linear.input_quantizer.amax !== undefined)
        .map(([path, linear]) => [path, linear.input_quantizer.amax!.data[0]]),
    };
    usedDevice = model.device ?? device;
    await quantized.model.dispose();
  }
  const last = phases.at(-1)!;
  const total = seconds.at(-1)!;
  const other = total - last.data - last.blockOpenAndFirstRun - last.blockRuns - last.awqSearch;
  const formCounts = Object.entries(
    Object.values(lossForms).reduce<Record<string, number>>((counts, form) => {
      counts[form] = (counts[form] ?? 0) + 1;
      return counts;
    }, {}),
  );
  rows.push([
    mode,
    usedDevice ?? device,
    formCounts.map(([form, count]) => `${form} ${count}`).join(', ') || '-',
    median(seconds),
    median(cpuSeconds),
    last.data,
    last.blockOpenAndFirstRun,
    last.blockRuns,
    last.awqSearch,
    other,
  ]);
  results.push({
    mode,
    device: usedDevice,
    medianSeconds: median(seconds),
    runsSeconds: seconds,
    medianCpuSeconds: median(cpuSeconds),
    runsCpuSeconds: cpuSeconds,
    phases,
    awqLossForm,
    calibrationEngine,
    weights,
    awqLossForms: lossForms,
    ...calibrated,
  });
}
const host = machine();
printTable(
  `modelOptQuantize wall time, ${which} model, calibration engine ${calibrationEngine} (${host.cpu}, ${host.cores} cores${host.gpu ? `, ${host.gpu}` : ''}, Node ${host.node}; median of ${runs})`,
  [
    'mode',
    'device',
    'AWQ loss form',
    'seconds',
    'CPU seconds',
    'last run: data',
    'block open + 1st batch',
    'other batches',
    'AWQ search',
    'other',
  ],
  rows,
);
writeJson(out, {
  benchmark: 'modelOptQuantize wall time',
  model: which,
  machine: host,
  runs,
  ...datasetOptions,
  deviceStart,
  ...(deviceStartSeconds === undefined ? {} : { deviceStartSeconds }),
  // `sharedKernelDevice` skips Dawn's checks on a hardware adapter unless this is set.
  kernelChecks: process.env.PTQ_KERNELS_VALIDATION === '1' ? 'kept' : 'skipped on a hardware adapter',
  results,
});
