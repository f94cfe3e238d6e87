import { createXoshiro128 } from '@ptq/tensor';
import { afterAll, describe, expect, it } from 'vitest';
import { testKernelDevice } from '../__fixtures__/kernel-adapter-problem';
import { DawnCompute } from './dawn-compute';
import {
  type MatrixProductEpilogue,
  matrixProductShader,
  matrixProductSizes,
  matrixProductWorkgroups,
  type OperandLayout,
} from './matrix-product-shader';

const { found, problem } = await testKernelDevice('matrix product tests');
afterAll(() => found?.device.destroy());
// Compatibility mode (llvmpipe in CI) allows 128 threads a workgroup; hardware adapters 256.
const maxThreads = found?.device.limits.maxComputeInvocationsPerWorkgroup ?? 0;

const random = createXoshiro128(20261205);
const values = (count: number) => Float32Array.from({ length: count }, () => random() * 2 - 1);

/** `X[r, c]` of a matrix stored in `layout` with `rows × columns`. */
function at(data: Float32Array, layout: OperandLayout, rows: number, columns: number, r: number, c: number) {
  return layout === 'rows' ? data[r * columns + c]! : data[c * rows + r]!;
}

function gelu(x: number): number {
  return 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));
}

describe.skipIf(problem !== undefined)('the tiled matrix product', () => {
  // Sizes that are no multiple of any tile (rows, columns or depth), and offsets into the buffers.
  const [m, n, k] = [37, 70, 45];
  const cases: [OperandLayout, OperandLayout, MatrixProductEpilogue][] = [
    ['rows', 'rows', 'store'],
    ['rows', 'columns', 'bias'],
    ['rows', 'columns', 'bias-gelu'],
    ['rows', 'rows', 'bias-residual'],
    ['columns', 'rows', 'accumulate-divided'],
    ['columns', 'columns', 'store'],
  ];
  for (const threads of [128, 256] as const) {
    for (const [a, b, epilogue] of cases) {
      it.skipIf(threads > maxThreads)(
        `${threads} threads: A as ${a}, B as ${b}, ${epilogue}, within 1e-5 of float64`,
        async () => {
          const compute = new DawnCompute(found!.device);
          try {
            const [aOffset, bOffset] = [5, 11];
            const left = values(aOffset + m * k);
            const right = values(bOffset + k * n);
            const bias = values(n);
            const before = values(m * n);
            const divisor = 3;
            const output = compute.upload(before, 'C');
            const bindings = [compute.upload(left, 'A'), compute.upload(right, 'B'), output];
            if (epilogue.startsWith('bias')) bindings.push(compute.upload(bias, 'bias'));
            compute.dispatch(
              matrixProductShader({ a, b, epilogue, threads }),
              matrixProductSizes({ m, n, k, aOffset, bOffset, divisor }),
              bindings,
              matrixProductWorkgroups(threads, m, n),
            );
            const result = await compute.read(output, m * n);
            let worst = 0;
            for (let row = 0; row < m; row++) {
              for (let column = 0; column < n; column++) {
                let sum = 0;
                for (let depth = 0; depth < k; depth++) {
                  sum +=
                    at(left.subarray(aOffset), a, m, k, row, depth) *
                    at(right.subarray(bOffset), b, k, n, depth, column);
                }
                const old = before[row * n + column]!;
                const expected = {
                  store: sum,
                  bias: sum + bias[column]!,
                  'bias-gelu': gelu(sum + bias[column]!),
                  'bias-residual': old + sum + bias[column]!,
                  'accumulate-divided': old + sum / divisor,
                }[epilogue];
                worst = Math.max(worst, Math.abs(result[row * n + column]! - expected));
              }
            }
            expect(worst).toBeLessThan(1e-5);
          } finally {
            compute.destroy();
          }
        },
      );
    }
  }

  for (const threads of [128, 256] as const) {
    for (const epilogue of ['accumulate-divided', 'store'] as const) {
      it.skipIf(threads > maxThreads)(
        `${threads} threads: a symmetric Xᵀ·X (${epilogue}) equals the whole product to the bit, below the diagonal too`,
        async () => {
          const compute = new DawnCompute(found!.device);
          try {
            // Wider than two tiles each way, no multiple of a tile, read from an offset.
            const [size, depth, offset] = [301, 45, 7];
            const x = values(offset + depth * size);
            const before = values(size * size);
            const sizes = matrixProductSizes({
              m: size,
              n: size,
              k: depth,
              aOffset: offset,
              bOffset: offset,
              divisor: 3,
            });
            const product = async (symmetric: boolean) => {
              const output = compute.upload(before, 'C');
              const input = compute.upload(x, 'X');
              compute.dispatch(
                matrixProductShader({ a: 'columns', b: 'rows', epilogue, threads, symmetric }),
                sizes,
                [input, input, output],
                matrixProductWorkgroups(threads, size, size),
              );
              return compute.read(output, size * size);
            };
            const whole = await product(false);
            const symmetric = await product(true);
            expect(symmetric).toEqual(whole);
            if (epilogue === 'store') {
              // The whole product is symmetric to the bit as well: the same products, the same order.
              for (let row = 0; row < size; row++) {
                for (let column = 0; column < row; column++) {
                  expect(whole[row * size + column]).toBe(whole[column * size + row]);
                }
              }
            }
          } finally {
            compute.destroy();
          }
        },
      );
    }
  }

  it('refuses a symmetric product with a bias', () => {
    expect(() =>
      matrixProductShader({ a: 'columns', b: 'rows', epilogue: 'bias', threads: 128, symmetric: true }),
    ).toThrow(RangeError);
  });
});
