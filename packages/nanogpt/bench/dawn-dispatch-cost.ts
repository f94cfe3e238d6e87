// What one dispatch and one submission cost through Dawn (the `webgpu` package), which decides how
// many kernels a decode step can afford: trivial kernels (one workgroup each, one word written),
// `--dispatches` per submission, each submission waited for, median of `--repeats`.
//
//   tsup --config ../../tooling/bench/tsup.config.ts --silent bench/dawn-dispatch-cost.ts
//   node ../../.bench/dawn-dispatch-cost.js --dispatches 1,16,64,256,1024 [--allow-software-adapter]
import { flag, machine, median, printTable, writeJson } from '../../../tooling/bench/report';
import { requestKernelDevice } from '../src/kernels/dawn-device';

const counts = flag('dispatches', '1,16,64,256,1024').split(',').map(Number);
const repeats = Number(flag('repeats', '20'));
const out = flag('out', 'bench-results/nanogpt-dawn-dispatch-cost.json');
const allowSoftwareAdapter = process.argv.includes('--allow-software-adapter');

const { device, adapterName } = await requestKernelDevice({ allowSoftwareAdapter });
const code = `@group(0) @binding(0) var<storage, read_write> data: array<u32>;
@compute @workgroup_size(64)
fn main(@builtin(local_invocation_id) local: vec3<u32>) {
  if (local.x == 0u) {
    data[0] = data[0] + 1u;
  }
}`;
const pipeline = device.createComputePipeline({
  layout: 'auto',
  compute: { module: device.createShaderModule({ code }), entryPoint: 'main' },
});
const data = device.createBuffer({ size: 16, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
const readback = device.createBuffer({ size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
const bindGroup = device.createBindGroup({
  layout: pipeline.getBindGroupLayout(0),
  entries: [{ binding: 0, resource: { buffer: data } }],
});

/** One submission of `count` dispatches plus a 4-byte read, waited for; milliseconds (encode, total). */
async function submission(count: number): Promise<[number, number]> {
  const started = performance.now();
  const encoder = device.createCommandEncoder();
  const pass = encoder.beginComputePass();
  for (let index = 0; index < count; index += 1) {
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(1);
  }
  pass.end();
  encoder.copyBufferToBuffer(data, 0, readback, 0, 4);
  const commands = encoder.finish();
  const encoded = performance.now();
  device.queue.submit([commands]);
  await readback.mapAsync(GPUMapMode.READ);
  readback.unmap();
  return [encoded - started, performance.now() - started];
}

const rows: Array<{
  dispatches: number;
  encodeMs: number;
  totalMs: number;
  microsecondsPerDispatch: number;
}> = [];
for (const count of counts) {
  await submission(count); // warm-up
  const timings = [];
  for (let repeat = 0; repeat < repeats; repeat += 1) timings.push(await submission(count));
  const encodeMs = median(timings.map(([encode]) => encode));
  const totalMs = median(timings.map(([, total]) => total));
  rows.push({ dispatches: count, encodeMs, totalMs, microsecondsPerDispatch: (totalMs * 1000) / count });
}
device.destroy();

const host = machine();
printTable(
  `Dawn dispatch cost on ${adapterName} — ${host.cpu} × ${host.cores}; Node ${host.node}; median of ${repeats}`,
  ['dispatches per submission', 'encode ms (host)', 'submit + wait ms', 'µs per dispatch'],
  rows.map((row) => [row.dispatches, row.encodeMs, row.totalMs, row.microsecondsPerDispatch]),
);
writeJson(out, { machine: host, adapter: adapterName, repeats, rows });
