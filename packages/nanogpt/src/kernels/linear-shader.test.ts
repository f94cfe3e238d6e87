import { createXoshiro128, float32ToFloat16Bits } from '@ptq/tensor';
import { describe, expect, it } from 'vitest';
import {
  BUFFER_USAGE,
  encodeKernel,
  kernelTestDevice,
  readWords,
  uploadBuffer,
} from '../__fixtures__/kernel-adapter';
import { packCodes, packHalves } from './kernel-weights';
import {
  type KernelWeightKind,
  LINEAR_ROWS,
  linearRowsPerWorkgroup,
  linearShader,
  linearWorkgroups,
  wordsPerRow,
} from './linear-shader';

describe('linearRowsPerWorkgroup', () => {
  it("keeps at least 512 workgroups where it can: GPT-2's linears and head", () => {
    const table: [number, number][] = [
      [1, 1],
      [100, 1],
      [768, 1],
      [1024, 2],
      [2048, 4],
      [2304, 4],
      [3072, 4],
      [4096, 8],
      [50257, 8],
    ];
    for (const [outFeatures, rows] of table)
      expect([outFeatures, linearRowsPerWorkgroup(outFeatures)]).toEqual([outFeatures, rows]);
  });

  it('is a power of two up to LINEAR_ROWS, never fewer than 512 workgroups unless one row each', () => {
    for (let outFeatures = 1; outFeatures <= 6000; outFeatures += 7) {
      const rows = linearRowsPerWorkgroup(outFeatures);
      expect(rows >= 1 && rows <= LINEAR_ROWS && (rows & (rows - 1)) === 0).toBe(true);
      if (rows > 1) expect(linearWorkgroups(outFeatures, rows)).toBeGreaterThanOrEqual(512);
      if (rows < LINEAR_ROWS) expect(linearWorkgroups(outFeatures, rows * 2)).toBeLessThan(512);
    }
  });
});

const { problem, kernel } = await kernelTestDevice('decode linear kernel');

const { COPY_DST, UNIFORM } = BUFFER_USAGE;

function buffer(data: Float32Array | Uint32Array, usage?: number): GPUBuffer {
  return uploadBuffer(kernel, data, usage);
}

function read(source: GPUBuffer, length: number): Promise<Uint32Array> {
  return readWords(kernel, source, length);
}

// Odd sizes: a partial input step (300 = 2·128 + 44), a partial int4 block and outputs that no
// row count divides (77).
const IN = 300;
const OUT = 77;

/** A random weight as the kernels store it (every code finite) and its row scales. */
function storedWeight(
  kind: KernelWeightKind,
  random: () => number,
): { stored: Float32Array | Uint32Array; scales: Float32Array } {
  const scales = Float32Array.from({ length: OUT * Math.ceil(IN / 128) }, () => 0.001 + 0.02 * random());
  switch (kind) {
    case 'float32':
      return { stored: Float32Array.from({ length: OUT * IN }, () => random() - 0.5), scales };
    case 'float16':
      return {
        stored: packHalves(
          Uint16Array.from({ length: OUT * IN }, () => float32ToFloat16Bits(random() - 0.5)),
          OUT,
          IN,
        ),
        scales,
      };
    case 'float8':
      return {
        stored: packCodes(
          Uint8Array.from({ length: OUT * IN }, () => Math.floor(random() * 0x7f)),
          OUT,
          IN,
          8,
        ),
        scales,
      };
    default:
      return {
        stored: Uint32Array.from({ length: OUT * wordsPerRow(kind, IN) }, () =>
          Math.floor(random() * 2 ** 32),
        ),
        scales,
      };
  }
}

const KINDS: KernelWeightKind[] = ['float32', 'float16', 'int8', 'int4', 'float8'];

describe.skipIf(problem !== undefined)('the decode linear kernel (llvmpipe)', () => {
  it.each(KINDS)('%s weights: the same bits for 1, 2, 4 and 8 outputs per workgroup', async (weight) => {
    const random = createXoshiro128(weight.length * 31 + 5);
    const { stored, scales } = storedWeight(weight, random);
    const input = Float32Array.from({ length: IN }, () => 4 * random() - 2);
    const start = Float32Array.from({ length: OUT }, () => 2 * random() - 1);
    const parameters = buffer(Float32Array.of(1e-5, 0.01, 0.0123, 0), UNIFORM | COPY_DST);
    const gamma = buffer(Float32Array.from({ length: IN }, () => 0.5 + random()));
    const beta = buffer(Float32Array.from({ length: IN }, () => 0.4 * random() - 0.2));
    const preScale = buffer(Float32Array.from({ length: IN }, () => 0.5 + 1.5 * random()));
    const common = [
      parameters,
      buffer(input),
      buffer(stored),
      buffer(scales),
      buffer(Float32Array.from({ length: OUT }, () => random() - 0.5)),
    ];
    for (const transforms of [false, true]) {
      for (const epilogue of ['gelu', 'residual'] as const) {
        const outputs: Uint32Array[] = [];
        for (const rows of [1, 2, 4, 8]) {
          const code = linearShader({
            inFeatures: IN,
            outFeatures: OUT,
            weight,
            layerNorm: transforms,
            preScale: transforms,
            float8Input: transforms,
            epilogue,
            rows,
          });
          const output = buffer(start);
          const targets = [...common, output, ...(transforms ? [gamma, beta, preScale] : [])];
          const encoder = kernel.device.createCommandEncoder();
          encodeKernel(kernel, encoder, code, targets, linearWorkgroups(OUT, rows));
          kernel.device.queue.submit([encoder.finish()]);
          outputs.push(await read(output, OUT));
        }
        const changed = Array.from(
          outputs[0]!,
          (bits, index) => bits !== new Uint32Array(start.buffer)[index],
        );
        // Every output was written (a residual or GELU of a nonzero sum moves it).
        expect(changed.filter(Boolean).length, `${transforms} ${epilogue}`).toBeGreaterThan(OUT - 3);
        for (const other of outputs.slice(1))
          expect(Array.from(other), `${transforms} ${epilogue}`).toEqual(Array.from(outputs[0]!));
      }
    }
  });
});
