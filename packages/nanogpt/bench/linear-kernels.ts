// GPU time of one decode-step linear ([1, in] × weight) in float16 on WebGPU, for each way the graph
// can write it: `MatMul` on `[in, out]`, `Gemm` on `[in, out]` or `[out, in]` (transB), and `MatMul`
// with the inner dimension split into P batches summed by `ReduceSum` (split-K). Each graph holds
// `--copies` independent linears of one shape with their own weights; the table gives the GPU time per
// linear by shader program (profile timestamps) and the wall time per run with the device's work (runs queued back to back, then one read).
//
//   node .bench/linear-kernels.js --out linear-kernels.json

import { DeviceTensorReader } from '@ptq/onnx';
import { GraphBuilder, serializeModel, type Value } from '@ptq/onnx-format';
import { createTensor, float32ArrayToFloat16 } from '@ptq/tensor';
import { InferenceSession, type Tensor as OrtTensor } from 'onnxruntime-node';
import { profilePrefix, takeProfile } from '../../../tooling/bench/onnxruntime-profile';
import { flag, machine, median, printTable, time, writeJson } from '../../../tooling/bench/report';

type Variant =
  | 'matmul'
  | 'gemm'
  | 'gemm-transposed'
  | 'split-4'
  | 'split-8'
  | 'split-4-matmul'
  | 'split-8-matmul';
const VARIANTS: Variant[] = [
  'matmul',
  'gemm',
  'gemm-transposed',
  'split-4',
  'split-8',
  'split-4-matmul',
  'split-8-matmul',
];
const SHAPES: Array<[number, number]> = [
  [768, 768],
  [768, 2304],
  [768, 3072],
  [3072, 768],
  [768, 50257],
];
const copies = Number(flag('copies', '12'));
const runs = Number(flag('runs', '60'));
const out = flag('out', 'bench-results/linear-kernels.json');

let seed = 1;
function randomHalf(count: number): Uint16Array {
  const values = new Float32Array(count);
  for (let index = 0; index < count; index += 1) {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    values[index] = (seed / 2147483648 - 0.5) * 0.05;
  }
  return float32ArrayToFloat16(values);
}

function linearModel(variant: Variant, inFeatures: number, outFeatures: number, count: number): Uint8Array {
  const builder = new GraphBuilder({ name: `linear-${variant}` });
  const x = builder.initializer('x', createTensor('float16', [1, inFeatures], randomHalf(inFeatures)));
  const bias = builder.initializer('bias', createTensor('float16', [outFeatures], randomHalf(outFeatures)));
  for (let copy = 0; copy < count; copy += 1) {
    const weight = (shape: number[]) =>
      builder.initializer(`w${copy}`, createTensor('float16', shape, randomHalf(inFeatures * outFeatures)));
    let y: Value;
    if (variant === 'matmul') {
      y = builder.node('MatMul', [x, weight([inFeatures, outFeatures])]);
    } else if (variant === 'gemm') {
      y = builder.node('Gemm', [x, weight([inFeatures, outFeatures]), bias]);
    } else if (variant === 'gemm-transposed') {
      y = builder.node('Gemm', [x, weight([outFeatures, inFeatures]), bias], { transB: 1 });
    } else {
      const parts = variant.startsWith('split-4') ? 4 : 8;
      const chunks = builder.node('Reshape', [
        x,
        builder.constant(
          createTensor('int64', [3], BigInt64Array.of(BigInt(parts), 1n, BigInt(inFeatures / parts))),
        ),
      ]);
      const partial = builder.node('MatMul', [chunks, weight([parts, inFeatures / parts, outFeatures])]);
      // The P partial products [P, 1, out] summed by ReduceSum over axis 0, or by a second MatMul
      // with a row of ones ([1, P] × [P, out]).
      y = variant.endsWith('matmul')
        ? builder.node('MatMul', [
            builder.constant(
              createTensor('float16', [1, parts], float32ArrayToFloat16(new Float32Array(parts).fill(1))),
            ),
            builder.node('Reshape', [
              partial,
              builder.constant(
                createTensor('int64', [2], BigInt64Array.of(BigInt(parts), BigInt(outFeatures))),
              ),
            ]),
          ])
        : builder.node(
            'ReduceSum',
            [partial, builder.constant(createTensor('int64', [1], BigInt64Array.of(0n)))],
            { keepdims: 0 },
          );
    }
    builder.output(y, `y${copy}`, 'float16', [1, outFeatures]);
  }
  return serializeModel(builder.build());
}

interface Row {
  variant: Variant;
  inFeatures: number;
  outFeatures: number;
  copies: number;
  gpuMicroseconds: Record<string, number>;
  wallMsPerRun: number;
}
const rows: Row[] = [];
const reader = new DeviceTensorReader('webgpu');
for (const [inFeatures, outFeatures] of SHAPES) {
  const count = outFeatures > 10000 ? 2 : copies;
  for (const variant of VARIANTS) {
    const model = linearModel(variant, inFeatures, outFeatures, count);
    const prefix = profilePrefix(`linear-${variant}-${inFeatures}-${outFeatures}`);
    const options = {
      executionProviders: ['webgpu'],
      preferredOutputLocation: 'gpu-buffer',
      graphOptimizationLevel: 'disabled',
    } as InferenceSession.SessionOptions;
    // Wall time without profiling: `runs` runs queued back to back, then one output read back (which
    // waits for the device), per run; then GPU timestamps from a profiled session.
    const session = await InferenceSession.create(model, options);
    const runAll = async () => {
      let last: OrtTensor | undefined;
      for (let run = 0; run < runs; run += 1) {
        last?.dispose();
        const result = await session.run({});
        for (const [name, tensor] of Object.entries(result)) if (name !== 'y0') tensor.dispose();
        last = result.y0 as OrtTensor;
      }
      const read = await reader.read([last!]);
      last!.dispose();
      return read;
    };
    await runAll();
    const wall = (await time(runAll, 3, 0)).map((milliseconds) => milliseconds / runs);
    await session.release();
    const profiled = await InferenceSession.create(model, {
      ...options,
      enableProfiling: true,
      profileFilePrefix: prefix,
    });
    for (let run = 0; run < 12; run += 1) {
      const result = await profiled.run({});
      for (const tensor of Object.values(result)) tensor.dispose();
    }
    await profiled.release();
    const gpuMicroseconds: Record<string, number> = {};
    // GPU events are `Api: <node>&<op>&<program>`: summed by program, per linear.
    for (const { event, microsecondsPerRun } of takeProfile(prefix, 2, Number.POSITIVE_INFINITY)
      ?.otherEvents ?? []) {
      const program = event.split('&').at(-1) ?? event;
      gpuMicroseconds[program] = (gpuMicroseconds[program] ?? 0) + microsecondsPerRun / count;
    }
    rows.push({
      variant,
      inFeatures,
      outFeatures,
      copies: count,
      gpuMicroseconds,
      wallMsPerRun: median(wall),
    });
    console.error(JSON.stringify(rows.at(-1)));
  }
}
const host = machine();
printTable(
  `One-row float16 linears on WebGPU, ${copies} per graph (2 for the head), GPU µs per linear by program (profile timestamps, mean over runs) and wall ms per run (median of ${runs}) — ${host.gpu ?? 'no GPU'}`,
  ['variant', 'in', 'out', 'copies', 'GPU µs per linear', 'wall ms per run'],
  rows.map((row) => [
    row.variant,
    row.inFeatures,
    row.outFeatures,
    row.copies,
    Object.entries(row.gpuMicroseconds)
      .map(([program, microseconds]) => `${program} ${microseconds.toFixed(1)}`)
      .join(', '),
    row.wallMsPerRun,
  ]),
);
writeJson(out, { machine: host, copies, runs, rows });
