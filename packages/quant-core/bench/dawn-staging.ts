// What moving data to and from the device costs through DawnCompute's kept staging buffers, against
// Dawn's own `queue.writeBuffer` and a fresh mapped buffer for each read (the baseline), in the same
// process: `--megabytes` each way, `--repeats` times a round, rounds alternating the four ways; each
// figure waits for the device to finish the copy.
// Run: node dawn-staging.js [--megabytes 16] [--repeats 6] [--rounds 3] [--software] [--out r.json]
import { requestKernelDevice } from '@ptq/nanogpt';
import { flag, machine, median, printTable, writeJson } from '../../../tooling/bench/report';
import { DawnCompute } from '../src/kernel-calibration/dawn-compute';

const megabytes = Number(flag('megabytes', '16'));
const repeats = Number(flag('repeats', '6'));
const rounds = Number(flag('rounds', '3'));
const out = flag('out', 'bench-results/dawn-staging.json');
const found = await requestKernelDevice({ allowSoftwareAdapter: process.argv.includes('--software') });
const { device } = found;
const compute = new DawnCompute(device);
const floats = (megabytes * 1024 * 1024) / 4;
const data = Float32Array.from({ length: floats }, (_, index) => index % 1000);
const target = compute.buffer(4 * floats, 'the target');
const MAP_READ = 0x01;
const COPY_DST = 0x08;

const ways: Record<string, () => Promise<void>> = {
  'write: queue.writeBuffer (Dawn)': async () => {
    device.queue.writeBuffer(target, 0, data);
    await device.queue.onSubmittedWorkDone();
  },
  'write: DawnCompute.write (kept staging)': async () => {
    compute.write(target, 0, data);
    await compute.submit();
  },
  'read: a fresh mapped buffer each read': async () => {
    const staging = device.createBuffer({ size: 4 * floats, usage: MAP_READ | COPY_DST });
    const encoder = device.createCommandEncoder();
    encoder.copyBufferToBuffer(target, 0, staging, 0, 4 * floats);
    device.queue.submit([encoder.finish()]);
    await staging.mapAsync(MAP_READ);
    new Float32Array(staging.getMappedRange()).slice();
    staging.destroy();
  },
  'read: DawnCompute.read (kept staging)': async () => {
    await compute.read(target, floats);
  },
};
const milliseconds = new Map(Object.keys(ways).map((name) => [name, [] as number[]]));
try {
  for (let round = 0; round < rounds; round++) {
    for (const [name, way] of Object.entries(ways)) {
      for (let repeat = 0; repeat < repeats; repeat++) {
        const started = performance.now();
        await way();
        milliseconds.get(name)!.push(performance.now() - started);
      }
    }
  }
} finally {
  compute.destroy();
  device.destroy();
}
const host = machine();
const rows = [...milliseconds].map(([name, times]) => [
  name,
  median(times).toFixed(2),
  (megabytes / 1024 / (median(times) / 1000)).toFixed(2),
]);
printTable(
  `${megabytes} MB to and from the device (${found.adapterName}; ${host.cpu}, median of ${rounds} rounds of ${repeats})`,
  ['way', 'ms each', 'GB/s'],
  rows,
);
writeJson(out, {
  benchmark: 'dawn staging',
  machine: host,
  adapter: found.adapterName,
  megabytes,
  repeats,
  rounds,
  results: [...milliseconds].map(([way, times]) => ({ way, milliseconds: times })),
});
