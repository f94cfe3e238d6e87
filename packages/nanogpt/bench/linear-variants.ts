// GPU time of the kernels engine's decode linear (`linearShader`) for GPT-2-124M's step linears, every
// weight kind and every output-rows-per-workgroup setting, so the rows rule (`linearRowsPerWorkgroup`)
// is chosen from measurements. Each case runs `--dispatches` copies back to back in one compute pass,
// writing one output buffer, so each waits for the one before as a step's kernels do; timestamps at
// the pass's start and end give the time per dispatch (median of `--repeats` passes). Where the
// adapter has no timestamp queries (llvmpipe), the pass's wall time (submit to a read) stands in.
//
//   tsup --config ../../tooling/bench/tsup.config.ts --silent bench/linear-variants.ts
//   node ../../.bench/linear-variants.js [--kinds float16,int8,int4,float8] [--allow-software-adapter]
import { flag, machine, median, printTable, writeJson } from '../../../tooling/bench/report';
import { requestKernelDevice } from '../src/kernels/dawn-device';
import {
  type KernelWeightKind,
  LINEAR_ROWS,
  type LinearShaderOptions,
  linearRowsPerWorkgroup,
  linearShader,
  linearWorkgroupBytes,
  linearWorkgroups,
  wordsPerRow,
} from '../src/kernels/linear-shader';

const kinds = flag('kinds', 'float16,int8,int4,float8').split(',') as KernelWeightKind[];
const dispatches = Number(flag('dispatches', '64'));
const repeats = Number(flag('repeats', '7'));
const out = flag('out', 'bench-results/nanogpt-linear-variants.json');
const allowSoftwareAdapter = process.argv.includes('--allow-software-adapter');

/** GPT-2-124M's step linears: shape and what the engine fuses around each. */
const LINEARS: Array<
  { name: string } & Pick<LinearShaderOptions, 'inFeatures' | 'outFeatures' | 'layerNorm' | 'epilogue'>
> = [
  { name: 'ln_1 + attn.c_attn', inFeatures: 768, outFeatures: 2304, layerNorm: true, epilogue: 'none' },
  {
    name: 'attn.c_proj + residual',
    inFeatures: 768,
    outFeatures: 768,
    layerNorm: false,
    epilogue: 'residual',
  },
  { name: 'ln_2 + mlp.c_fc + GELU', inFeatures: 768, outFeatures: 3072, layerNorm: true, epilogue: 'gelu' },
  {
    name: 'mlp.c_proj + residual',
    inFeatures: 3072,
    outFeatures: 768,
    layerNorm: false,
    epilogue: 'residual',
  },
  { name: 'ln_f + lm_head', inFeatures: 768, outFeatures: 50257, layerNorm: true, epilogue: 'none' },
];

const { device, adapterName } = await requestKernelDevice({ allowSoftwareAdapter, timestamps: true });
const maxWorkgroupBytes = device.limits.maxComputeWorkgroupStorageSize;
const STORAGE = GPUBufferUsage.STORAGE;
function buffer(words: number, fill: (index: number) => number, usage = STORAGE): GPUBuffer {
  const created = device.createBuffer({
    size: 4 * Math.max(4, words),
    usage: usage | GPUBufferUsage.COPY_DST,
  });
  const data = new Float32Array(Math.max(4, words));
  for (let index = 0; index < words; index += 1) data[index] = fill(index);
  device.queue.writeBuffer(created, 0, data);
  return created;
}
// Small finite values; for packed codes any bits are valid except float8's NaN (0x7f/0xff), which the
// words below never hold (every byte is 0x38, e4m3 for 0.5).
const unit = (index: number) => ((index * 7919) % 2001) / 1000 - 1;
const timestamps = device.features.has('timestamp-query');
const querySet = timestamps ? device.createQuerySet({ type: 'timestamp', count: 2 }) : undefined;
const resolved = device.createBuffer({
  size: 16,
  usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC,
});
const staging = device.createBuffer({ size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });

interface Row {
  kind: KernelWeightKind;
  linear: string;
  rows: number;
  chosen: boolean;
  workgroups: number;
  microseconds: number;
  weightGigabytesPerSecond: number;
}
const results: Row[] = [];
for (const kind of kinds) {
  for (const linear of LINEARS) {
    const words = wordsPerRow(kind, linear.inFeatures);
    const weight = device.createBuffer({
      size: 4 * words * linear.outFeatures,
      usage: STORAGE | GPUBufferUsage.COPY_DST,
    });
    const packed = new Uint32Array(words * linear.outFeatures);
    packed.fill(kind === 'float16' ? 0x3800_3800 : 0x3838_3838);
    device.queue.writeBuffer(weight, 0, packed);
    const parameters = buffer(4, (index) => [1e-5, 1, 1, 0][index]!, GPUBufferUsage.UNIFORM);
    const input = buffer(linear.inFeatures, unit);
    const scales = buffer(linear.outFeatures * Math.ceil(linear.inFeatures / 128), () => 0.01);
    const bias = buffer(linear.outFeatures, () => 0);
    const output = buffer(linear.outFeatures, () => 0);
    const gamma = buffer(linear.inFeatures, () => 1);
    const beta = buffer(linear.inFeatures, () => 0);
    for (let rows = 1; rows <= LINEAR_ROWS * 2; rows *= 2) {
      if (linearWorkgroupBytes(kind, linear.inFeatures, rows) > maxWorkgroupBytes) continue;
      const code = linearShader({
        ...linear,
        weight: kind,
        preScale: false,
        float8Input: kind === 'float8',
        rows,
      });
      const pipeline = device.createComputePipeline({
        layout: 'auto',
        compute: { module: device.createShaderModule({ code }), entryPoint: 'main' },
      });
      const entries = [parameters, input, weight, scales, bias, output];
      if (linear.layerNorm) entries.push(gamma, beta);
      const bindGroup = device.createBindGroup({
        layout: pipeline.getBindGroupLayout(0),
        entries: entries.map((resource, binding) => ({ binding, resource: { buffer: resource } })),
      });
      const workgroups = linearWorkgroups(linear.outFeatures, rows);
      const times: number[] = [];
      for (let repeat = 0; repeat <= repeats; repeat += 1) {
        const started = performance.now();
        const encoder = device.createCommandEncoder();
        const pass = encoder.beginComputePass(
          querySet === undefined
            ? {}
            : { timestampWrites: { querySet, beginningOfPassWriteIndex: 0, endOfPassWriteIndex: 1 } },
        );
        pass.setPipeline(pipeline);
        pass.setBindGroup(0, bindGroup);
        for (let index = 0; index < dispatches; index += 1) pass.dispatchWorkgroups(workgroups);
        pass.end();
        if (querySet !== undefined) encoder.resolveQuerySet(querySet, 0, 2, resolved, 0);
        encoder.copyBufferToBuffer(resolved, 0, staging, 0, 16);
        device.queue.submit([encoder.finish()]);
        await staging.mapAsync(GPUMapMode.READ);
        const stamps = new BigUint64Array(staging.getMappedRange().slice(0));
        staging.unmap();
        const nanoseconds =
          querySet === undefined ? (performance.now() - started) * 1e6 : Number(stamps[1]! - stamps[0]!);
        // The first pass warms the pipeline up.
        if (repeat > 0) times.push(nanoseconds / 1000 / dispatches);
      }
      const microseconds = median(times);
      results.push({
        kind,
        linear: linear.name,
        rows,
        chosen: rows === linearRowsPerWorkgroup(linear.outFeatures),
        workgroups,
        microseconds,
        weightGigabytesPerSecond: (4 * words * linear.outFeatures) / (microseconds * 1000),
      });
    }
    for (const created of [weight, parameters, input, scales, bias, output, gamma, beta]) created.destroy();
  }
}
device.destroy();

const host = machine();
printTable(
  `Decode linear kernel per dispatch (${dispatches} back to back, median of ${repeats}, ${timestamps ? 'GPU timestamps' : 'wall time'}) on ${adapterName} — ${host.cpu} × ${host.cores}; Node ${host.node}`,
  ['weights', 'linear', 'rows per workgroup', 'chosen now', 'workgroups', 'µs per dispatch', 'weight GB/s'],
  results.map((row) => [
    row.kind,
    row.linear,
    row.rows,
    row.chosen ? 'yes' : '',
    row.workgroups,
    row.microseconds,
    row.weightGigabytesPerSecond,
  ]),
);
writeJson(out, { machine: host, adapter: adapterName, timestamps, dispatches, repeats, rows: results });
