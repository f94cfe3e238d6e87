// Throughput of quantize / dequantize over a 4096×4096 float32 matrix, ptq beside a naive loop, in MB/s
// of float32 input (or of the float32 output for dequantize). Prints a table and writes the same to
// bench-results/scale-math.json. Run with `pnpm bench`.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, platform, release } from 'node:os';
import {
  amaxPerBlock,
  amaxPerChannel,
  amaxPerTensor,
  convertToScale,
  dequantize,
  MAXBOUND,
  type QuantFormat,
  type QuantLayout,
  quantize,
} from '../src/index';
import { naiveDequantize, naiveQuantize } from './naive-quantize';

const ROWS = 4096;
const COLUMNS = 4096;
const SHAPE = [ROWS, COLUMNS];
const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const MEGABYTES = (ROWS * COLUMNS * 4) / 1e6;

/** Deterministic weight-like values: a sum of uniforms (roughly normal), with sparse larger outliers. */
function makeMatrix(): Float32Array {
  const values = new Float32Array(ROWS * COLUMNS);
  let state = 0x2545f491;
  const next = (): number => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
  for (let index = 0; index < values.length; index += 1) {
    const normal = next() + next() + next() - 1.5;
    values[index] = index % 997 === 0 ? normal * 0.5 : normal * 0.05;
  }
  return values;
}

function medianMilliseconds(run: () => void): number {
  run(); // warm-up: lets the JIT optimise before timing
  const times: number[] = [];
  for (let index = 0; index < RUNS; index += 1) {
    const start = performance.now();
    run();
    times.push(performance.now() - start);
  }
  times.sort((left, right) => left - right);
  const middle = times.length >> 1;
  return times.length % 2 === 1 ? times[middle]! : (times[middle - 1]! + times[middle]!) / 2;
}

interface Row {
  operation: 'quantize' | 'dequantize';
  layout: string;
  format: QuantFormat;
  ptqMegabytesPerSecond: number;
  naiveMegabytesPerSecond: number;
  speedup: number;
}

const matrix = makeMatrix();
const layouts: { name: string; layout: QuantLayout; amax: () => Float32Array }[] = [
  {
    name: 'per-tensor',
    layout: { kind: 'per-tensor' },
    amax: () => new Float32Array([amaxPerTensor(matrix)]),
  },
  {
    name: 'per-channel',
    layout: { kind: 'per-channel', axis: 0 },
    amax: () => amaxPerChannel(matrix, SHAPE, 0).data,
  },
  {
    name: 'block-128',
    layout: { kind: 'block', blockSize: 128 },
    amax: () => amaxPerBlock(matrix, SHAPE, 128).data,
  },
];
const formats: QuantFormat[] = ['int8', 'int4', 'float8e4m3fn'];

const rows: Row[] = [];
for (const operation of ['quantize', 'dequantize'] as const) {
  for (const { name, layout, amax } of layouts) {
    for (const format of formats) {
      const scales = convertToScale(amax(), MAXBOUND[format]).data;
      const codes = quantize(matrix, SHAPE, scales, format, layout);
      const ptq =
        operation === 'quantize'
          ? () => quantize(matrix, SHAPE, scales, format, layout)
          : () => dequantize(codes, SHAPE, scales, format, layout);
      const naive =
        operation === 'quantize'
          ? () => naiveQuantize(matrix, SHAPE, scales, format, layout)
          : () => naiveDequantize(codes, SHAPE, scales, format, layout);
      const ptqMegabytesPerSecond = MEGABYTES / (medianMilliseconds(ptq) / 1000);
      const naiveMegabytesPerSecond = MEGABYTES / (medianMilliseconds(naive) / 1000);
      rows.push({
        operation,
        layout: name,
        format,
        ptqMegabytesPerSecond: Math.round(ptqMegabytesPerSecond),
        naiveMegabytesPerSecond: Math.round(naiveMegabytesPerSecond),
        speedup: Math.round((ptqMegabytesPerSecond / naiveMegabytesPerSecond) * 10) / 10,
      });
    }
  }
}

const machine = {
  cpu: cpus()[0]?.model ?? 'unknown',
  cores: cpus().length,
  node: process.version,
  os: `${platform()} ${release()}`,
};
const lines = [
  `${machine.cpu}, ${machine.cores} cores, Node ${machine.node}, ${machine.os}`,
  `4096×4096 float32, median of ${RUNS} runs, MB/s of float32 data, one thread`,
  '',
  '| operation | layout | format | ptq MB/s | naive MB/s | speedup |',
  '| --- | --- | --- | ---: | ---: | ---: |',
  ...rows.map(
    (row) =>
      `| ${row.operation} | ${row.layout} | ${row.format} | ${row.ptqMegabytesPerSecond} | ${row.naiveMegabytesPerSecond} | ${row.speedup}× |`,
  ),
];
console.log(lines.join('\n'));
mkdirSync('bench-results', { recursive: true });
writeFileSync(
  'bench-results/scale-math.json',
  `${JSON.stringify({ machine, matrix: SHAPE, runs: RUNS, unit: 'MB/s of float32', rows }, null, 2)}\n`,
);
