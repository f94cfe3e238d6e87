// Throughput of the kernels engine's tiled float32 matrix product on the shapes calibration runs on
// GPT-2-124M with the seed's int4 data (16 × 512 tokens): the block forward's linears, the Gram
// matrix of a linear's inputs, and the AWQ search's product of candidate differences with it; and
// of the block's other kernels on the same tokens (causal attention, LayerNorm).
// Each shape runs `--repeats` times in one submission after a warm-up; seconds are wall time
// around the submission, so per-dispatch overheads count. A symmetric Gram matrix's TFLOPS count the
// whole product's operations, as if it ran them all.
// Run: node kernel-product-throughput.js [--repeats 10] [--rounds 3] [--tokens 8192] [--only Gram]
// [--software] [--out r.json]   (--only: the kernels whose name contains it)
import { requestKernelDevice } from '@ptq/nanogpt';
import { flag, machine, median, printTable, writeJson } from '../../../tooling/bench/report';
import {
  attentionShader,
  attentionWorkgroups,
  layerNormShader,
  rowWorkgroups,
} from '../src/kernel-calibration/calibration-shaders';
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
  /** Threads a workgroup, where not the adapter's most (256 or 128). */
  readonly threads?: 128 | 256;
  /** Only the tiles on and above the diagonal, mirrored (a Gram matrix, as calibration runs it). */
  readonly symmetric?: boolean;
}

const TOKENS = Number(flag('tokens', '8192'));

/** The Gram matrix `Xᵀ·X` of a linear's `width` inputs over the block's tokens, as calibration adds it. */
function gram(width: number, variant: Pick<Shape, 'threads' | 'symmetric'> = {}): Shape {
  const how = [
    ...(variant.threads === undefined ? [] : [`${variant.threads} threads`]),
    ...(variant.symmetric ? ['symmetric'] : []),
  ];
  return {
    name: [`Gram ${width}`, ...how].join(', '),
    m: width,
    n: width,
    k: TOKENS,
    a: 'columns',
    b: 'rows',
    epilogue: 'accumulate-divided',
    ...variant,
  };
}
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
  gram(768),
  gram(768, { threads: 128 }),
  gram(768, { symmetric: true }),
  gram(3072),
  gram(3072, { symmetric: true }),
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

/** A kernel other than the product, on the block's tokens: its buffers and one dispatch. */
interface Kernel {
  readonly name: string;
  readonly shape: string;
  readonly flops: number;
  /** Float32 lengths of its bindings (the uniform aside). */
  readonly floats: readonly number[];
  readonly code: string;
  readonly uniform: ArrayBuffer;
  readonly workgroups: readonly [number, number?, number?];
  /** Bindings holding u32 words (an attention mask): filled with ones. */
  readonly ones?: readonly number[];
}

const SEQUENCE = 512;
const WIDTH = 768;
const HEADS = 12;
const sequences = TOKENS / SEQUENCE;
const layerNormUniform = new ArrayBuffer(8);
new Uint32Array(layerNormUniform, 0, 1)[0] = TOKENS;
new Float32Array(layerNormUniform, 4, 1)[0] = 1e-5;
const KERNELS: Kernel[] = [
  {
    name: 'causal attention',
    shape: `${sequences} × ${SEQUENCE} tokens, ${HEADS} heads of ${WIDTH / HEADS}`,
    // q·kᵀ and the weights times v over the causal half.
    flops: 2 * SEQUENCE * SEQUENCE * WIDTH * sequences,
    floats: [TOKENS * 3 * WIDTH, TOKENS * WIDTH, TOKENS],
    code: attentionShader({ heads: HEADS, headSize: WIDTH / HEADS }),
    uniform: Uint32Array.of(SEQUENCE).buffer,
    workgroups: attentionWorkgroups({ heads: HEADS, headSize: WIDTH / HEADS }, SEQUENCE, sequences),
    ones: [2],
  },
  {
    name: 'LayerNorm',
    shape: `${TOKENS} × ${WIDTH}`,
    flops: 8 * TOKENS * WIDTH,
    floats: [TOKENS * WIDTH, TOKENS * WIDTH, WIDTH, WIDTH],
    code: layerNormShader(WIDTH),
    uniform: layerNormUniform,
    workgroups: rowWorkgroups(TOKENS),
  },
];

const repeats = Number(flag('repeats', '10'));
const only = flag('only', '');
const rounds = Number(flag('rounds', '3'));
const out = flag('out', 'bench-results/kernel-product-throughput.json');
const found = await requestKernelDevice({ allowSoftwareAdapter: process.argv.includes('--software') });
const device = found.device;
const threads = device.limits.maxComputeInvocationsPerWorkgroup >= 256 ? 256 : 128;
const compute = new DawnCompute(device);
const rows: (string | number)[][] = [];
const results = [];

/** Median seconds of one dispatch: `dispatch` recorded `repeats` times a submission, after a warm-up. */
async function time(dispatch: () => void): Promise<number[]> {
  const run = async (times: number) => {
    for (let index = 0; index < times; index++) dispatch();
    await compute.submit();
  };
  await run(2);
  const seconds: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const started = performance.now();
    await run(repeats);
    seconds.push((performance.now() - started) / 1000 / repeats);
  }
  return seconds;
}

try {
  for (const shape of SHAPES.filter((entry) => entry.name.includes(only))) {
    const { m, n, k } = shape;
    const a = compute.buffer(4 * m * k, 'A');
    const b = compute.buffer(4 * k * n, 'B');
    const c = compute.buffer(4 * m * n, 'C');
    const bindings = [a, b, c];
    if (shape.epilogue.startsWith('bias')) bindings.push(compute.buffer(4 * n, 'bias'));
    const used = shape.threads ?? threads;
    const seconds = await time(() =>
      compute.dispatch(
        matrixProductShader({
          a: shape.a,
          b: shape.b,
          epilogue: shape.epilogue,
          threads: used,
          symmetric: shape.symmetric === true,
        }),
        matrixProductSizes({ m, n, k, divisor: 2 }),
        bindings,
        matrixProductWorkgroups(used, m, n),
      ),
    );
    const each = median(seconds);
    const teraflops = (2 * m * n * k) / each / 1e12;
    rows.push([shape.name, `${m}×${k} · ${k}×${n}`, (each * 1000).toFixed(3), teraflops.toPrecision(3)]);
    results.push({ ...shape, threads: used, secondsPerProduct: seconds, teraflops });
    for (const buffer of bindings) compute.release(buffer);
  }
  for (const kernel of KERNELS.filter((entry) => entry.name.includes(only))) {
    const bindings = kernel.floats.map((floats, index) =>
      kernel.ones?.includes(index)
        ? compute.upload(new Uint32Array(floats).fill(1), kernel.name)
        : compute.buffer(4 * floats, kernel.name),
    );
    const seconds = await time(() =>
      compute.dispatch(kernel.code, kernel.uniform, bindings, kernel.workgroups),
    );
    const each = median(seconds);
    const teraflops = kernel.flops / each / 1e12;
    rows.push([kernel.name, kernel.shape, (each * 1000).toFixed(3), teraflops.toPrecision(3)]);
    results.push({
      name: kernel.name,
      shape: kernel.shape,
      flops: kernel.flops,
      secondsPerDispatch: seconds,
      teraflops,
    });
    for (const buffer of bindings) compute.release(buffer);
  }
} finally {
  compute.destroy();
  device.destroy();
}
const host = machine();
printTable(
  `kernels engine matrix product, ${threads} threads a workgroup (${found.adapterName}; ${host.cpu}, median of ${rounds} rounds of ${repeats})`,
  ['kernel', 'shape', 'ms each', 'TFLOPS'],
  rows,
);
writeJson(out, { benchmark: 'kernel product throughput', machine: host, repeats, rounds, results });
