// Throughput of the kernels engine's tiled float32 matrix product on the shapes calibration runs on
// GPT-2-124M with the seed's int4 data (16 × 512 tokens): the block forward's linears, the Gram
// matrix of a linear's inputs, and the AWQ search's product of candidate differences with it.
// Each shape runs `--repeats` times in one submission after a warm-up; seconds are wall time
// around the submission, so per-dispatch overheads count.
// Run: node kernel-product-throughput.js [--repeats 10] [--software] [--out r.json]
import { requestKernelDevice } from '@ptq/nanogpt';
import { flag, machine, median, printTable, writeJson } from '../../../tooling/bench/report';
import { DawnCompute } from '../src/kernel-calibration/dawn-compute';
import {
  type MatrixProductEpilogue,
  matrixProductShader,
  matrixProductSizes,
  matrixProductWorkgroups,
  type OperandLayout,
} from '../src/kernel-calibration/matrix-product-shader';

interface Shape {
  readonly name: string;
  readonly m: number;
  readonly n: number;
  readonly k: number;
  readonly a: OperandLayout;
  readonly b: OperandLayout;
  readonly epilogue: MatrixProductEpilogue;
}

const TOKENS = Number(flag('tokens', '8192'));
const SHAPES: Shape[] = [
  { name: 'forward attn.c_attn', m: TOKENS, n: 2304, k: 768, a: 'rows', b: 'columns', epilogue: 'bias' },
  { name: 'forward mlp.c_fc', m: TOKENS, n: 3072, k: 768, a: 'rows', b: 'columns', epilogue: 'bias-gelu' },
  {
    name: 'forward mlp.c_proj',
    m: TOKENS,
    n: 768,
    k: 3072,
    a: 'rows',
    b: 'columns',
    epilogue: 'bias-residual',
  },
  { name: 'Gram 768', m: 768, n: 768, k: TOKENS, a: 'columns', b: 'rows', epilogue: 'accumulate-divided' },
  { name: 'Gram 3072', m: 3072, n: 3072, k: TOKENS, a: 'columns', b: 'rows', epilogue: 'accumulate-divided' },
  { name: 'search D·H c_fc (4 cand.)', m: 4 * 3072, n: 768, k: 768, a: 'rows', b: 'rows', epilogue: 'store' },
  {
    name: 'search D·H c_proj (4 cand.)',
    m: 4 * 768,
    n: 3072,
    k: 3072,
    a: 'rows',
    b: 'rows',
    epilogue: 'store',
  },
];

const repeats = Number(flag('repeats', '10'));
const rounds = Number(flag('rounds', '3'));
const out = flag('out', 'bench-results/kernel-product-throughput.json');
const found = await requestKernelDevice({ allowSoftwareAdapter: process.argv.includes('--software') });
const device = found.device;
const threads = device.limits.maxComputeInvocationsPerWorkgroup >= 256 ? 256 : 128;
const compute = new DawnCompute(device);
const rows: (string | number)[][] = [];
const results = [];
try {
  for (const shape of SHAPES) {
    const { m, n, k } = shape;
    const a = compute.buffer(4 * m * k, 'A');
    const b = compute.buffer(4 * k * n, 'B');
    const c = compute.buffer(4 * m * n, 'C');
    const bindings = [a, b, c];
    if (shape.epilogue.startsWith('bias')) bindings.push(compute.buffer(4 * n, 'bias'));
    const run = async (times: number) => {
      for (let index = 0; index < times; index++) {
        compute.dispatch(
          matrixProductShader({ a: shape.a, b: shape.b, epilogue: shape.epilogue, threads }),
          matrixProductSizes({ m, n, k, divisor: 2 }),
          bindings,
          matrixProductWorkgroups(threads, m, n),
        );
      }
      await compute.submit();
    };
    await run(2);
    const seconds: number[] = [];
    for (let round = 0; round < rounds; round++) {
      const started = performance.now();
      await run(repeats);
      seconds.push((performance.now() - started) / 1000 / repeats);
    }
    const each = median(seconds);
    const teraflops = (2 * m * n * k) / each / 1e12;
    rows.push([shape.name, `${m}×${k} · ${k}×${n}`, (each * 1000).toFixed(3), teraflops.toPrecision(3)]);
    results.push({ ...shape, threads, secondsPerProduct: seconds, teraflops });
    for (const buffer of bindings) compute.release(buffer);
  }
} finally {
  compute.destroy();
  device.destroy();
}
const host = machine();
printTable(
  `kernels engine matrix product, ${threads} threads a workgroup (${found.adapterName}; ${host.cpu}, median of ${rounds} rounds of ${repeats})`,
  ['product', 'shape', 'ms each', 'TFLOPS'],
  rows,
);
writeJson(out, { benchmark: 'kernel product throughput', machine: host, repeats, rounds, results });
