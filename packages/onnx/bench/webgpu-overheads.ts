// What a WebGPU session run costs on the host, apart from the GPU's own work: per kernel dispatch,
// per input copied from the host, per output copied back, measured on tiny graphs whose GPU time is
// negligible. Run once per provider configuration (the WebGPU device is set up once per process):
//
//   node .bench/webgpu-overheads.js --out overheads.json
//   node .bench/webgpu-overheads.js --webgpu-config validationMode=disabled --out overheads-novalidation.json

import { GraphBuilder, serializeModel } from '@ptq/onnx-format';
import { createTensor } from '@ptq/tensor';
import { InferenceSession, Tensor as OrtTensor } from 'onnxruntime-node';
import { flag, machine, median, printTable, time, writeJson } from '../../../tooling/bench/report';

const WIDTH = 768;
const runs = Number(flag('runs', '200'));
const out = flag('out', 'bench-results/webgpu-overheads.json');
// WebGPU provider settings, as session config entries `ep.webgpuexecutionprovider.<key>`.
const providerOptions = Object.fromEntries(
  flag('webgpu-config', '')
    .split(',')
    .filter((entry) => entry !== '')
    .map((entry) => entry.split('=') as [string, string]),
);

/** `adds` chained Adds on x [1, WIDTH]; `inputs` of them add a graph input, the rest a constant. */
function chainModel(adds: number, inputs: number, outputs: number): Uint8Array {
  const builder = new GraphBuilder({ name: 'chain' });
  let x = builder.input('x', 'float32', [1, WIDTH]);
  const constant = builder.constant(createTensor('float32', [1, WIDTH], new Float32Array(WIDTH).fill(0.5)));
  const extra = Array.from({ length: inputs }, (_, index) =>
    builder.input(`in${index}`, 'float32', [1, WIDTH]),
  );
  const produced = [];
  for (let index = 0; index < adds; index += 1) {
    x = builder.node('Add', [x, index < inputs ? extra[index]! : constant]);
    produced.push(x);
  }
  for (let index = 0; index < outputs; index += 1) {
    builder.output(produced[produced.length - 1 - index]!, `y${index}`, 'float32', [1, WIDTH]);
  }
  return serializeModel(builder.build());
}

async function runMs(adds: number, inputs: number, outputs: number, gpuOutputs = false): Promise<number> {
  const session = await InferenceSession.create(chainModel(adds, inputs, outputs), {
    executionProviders: ['webgpu'],
    extra: { ep: { webgpuexecutionprovider: providerOptions } },
    preferredOutputLocation: gpuOutputs ? 'gpu-buffer' : 'cpu',
  });
  const feeds: Record<string, OrtTensor> = {
    x: new OrtTensor('float32', new Float32Array(WIDTH), [1, WIDTH]),
  };
  for (let index = 0; index < inputs; index += 1) {
    feeds[`in${index}`] = new OrtTensor('float32', new Float32Array(WIDTH), [1, WIDTH]);
  }
  const task = async () => {
    const result = await session.run(feeds);
    if (gpuOutputs) for (const tensor of Object.values(result)) tensor.dispose();
  };
  const times = await time(task, runs, 20);
  await session.release();
  return median(times);
}

const rows: (string | number)[][] = [];
const record: Record<string, number> = {};
const measure = async (name: string, adds: number, inputs: number, outputs: number, gpuOutputs = false) => {
  const ms = await runMs(adds, inputs, outputs, gpuOutputs);
  record[name] = ms;
  rows.push([name, adds, inputs + 1, outputs, gpuOutputs ? 'gpu-buffer' : 'cpu', ms]);
};
await measure('base', 1, 0, 1);
await measure('dispatches', 257, 0, 1);
await measure('uploads', 9, 8, 1);
await measure('uploads-control', 9, 0, 1);
await measure('downloads', 9, 0, 9);
await measure('gpu-outputs', 9, 0, 9, true);

const perDispatchUs = ((record.dispatches! - record.base!) / 256) * 1000;
const perUploadUs = ((record.uploads! - record['uploads-control']!) / 8) * 1000;
const perDownloadUs = ((record.downloads! - record['uploads-control']!) / 8) * 1000;
const perGpuOutputUs = ((record['gpu-outputs']! - record['uploads-control']!) / 8) * 1000;
const host = machine();
printTable(
  `WebGPU host overheads, median of ${runs} runs, provider options ${JSON.stringify(providerOptions)} — ${host.gpu ?? 'no GPU'}; ${host.cpu} × ${host.cores}`,
  ['graph', 'Add ops', 'inputs', 'outputs', 'outputs on', 'ms per run'],
  rows,
);
console.log(
  `per dispatch ${perDispatchUs.toFixed(1)} µs, per upload ${perUploadUs.toFixed(1)} µs, per download ${perDownloadUs.toFixed(1)} µs, per gpu-buffer output ${perGpuOutputUs.toFixed(1)} µs`,
);
writeJson(out, {
  machine: host,
  providerOptions,
  runs,
  record,
  perDispatchUs,
  perUploadUs,
  perDownloadUs,
  perGpuOutputUs,
});
