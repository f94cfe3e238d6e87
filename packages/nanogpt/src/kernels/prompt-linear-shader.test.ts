import {
  createXoshiro128,
  float8E4M3FNBitsToFloat32,
  float16BitsToFloat32,
  float32ToFloat16Bits,
} from '@ptq/tensor';
import { describe, expect, it } from 'vitest';
import {
  BUFFER_USAGE,
  encodeKernel,
  kernelTestDevice,
  readWords,
  uploadBuffer,
} from '../__fixtures__/kernel-adapter';
import { packCodes, packHalves } from './kernel-weights';
import { type KernelWeightKind, LINEAR_ROWS, linearShader } from './linear-shader';
import {
  PROMPT_TILE_ROWS,
  promptInputShader,
  promptLinearShader,
  promptLinearWorkgroups,
} from './prompt-linear-shader';

const { problem, kernel } = await kernelTestDevice('prompt linear kernel');

const { COPY_DST, UNIFORM } = BUFFER_USAGE;

function buffer(data: Float32Array | Uint32Array, usage?: number): GPUBuffer {
  return uploadBuffer(kernel, data, usage);
}

/** Runs `code` once with `bindings` (binding number → buffer) over `groups` workgroups. */
function encode(
  encoder: GPUCommandEncoder,
  code: string,
  bindings: Readonly<Record<number, GPUBuffer | undefined>>,
  groups: [number, number],
): void {
  encodeKernel(kernel, encoder, code, bindings, groups);
}

async function read(source: GPUBuffer, length: number): Promise<Float32Array> {
  return new Float32Array((await readWords(kernel, source, length)).buffer);
}

interface Case {
  readonly weight: KernelWeightKind;
  readonly transforms: boolean;
  readonly epilogue: 'none' | 'gelu' | 'residual';
}

// Odd sizes: a partial input step (200 = 6·32 + 8), a partial int4 block (200 = 128 + 72), a
// partial channel tile (100 = 64 + 36) and a partial row tile (37 = 32 + 5).
const IN = 200;
const OUT = 100;
const ROWS = 37;
const BLOCKS = Math.ceil(IN / 128);

/** A linear's random weight, stored as the kernels store it, with its values decoded on the host. */
function makeWeight(kind: KernelWeightKind, random: () => number) {
  const uniform = (low: number, high: number) => low + (high - low) * random();
  if (kind === 'float32') {
    const values = Float32Array.from({ length: OUT * IN }, () => uniform(-0.5, 0.5));
    return { stored: values, scales: Float32Array.of(1), factor: 1, decoded: Array.from(values) };
  }
  if (kind === 'float16') {
    const halves = Uint16Array.from({ length: OUT * IN }, () => float32ToFloat16Bits(uniform(-0.5, 0.5)));
    const decoded = Array.from(halves, (bits) => float16BitsToFloat32(bits));
    return { stored: packHalves(halves, OUT, IN), scales: Float32Array.of(1), factor: 1, decoded };
  }
  if (kind === 'float8') {
    // Every finite code but the largest, so products stay in range.
    const codes = Uint8Array.from({ length: OUT * IN }, () => {
      const code = Math.floor(uniform(0, 254));
      return code === 0x7f ? 0x7e : code;
    });
    const factor = 0.0123;
    const decoded = Array.from(codes, (code) => float8E4M3FNBitsToFloat32(code) * factor);
    return { stored: packCodes(codes, OUT, IN, 8), scales: Float32Array.of(1), factor, decoded };
  }
  const bits = kind === 'int4' ? 4 : 8;
  const high = kind === 'int4' ? 7 : 127;
  const codes = Int8Array.from({ length: OUT * IN }, () => Math.floor(uniform(-high - 1, high + 1)));
  const scales = Float32Array.from({ length: kind === 'int4' ? OUT * BLOCKS : OUT }, () =>
    uniform(0.001, 0.02),
  );
  const decoded = Array.from(codes, (code, index) => {
    const row = Math.floor(index / IN);
    const column = index % IN;
    return code * (kind === 'int4' ? scales[row * BLOCKS + Math.floor(column / 128)]! : scales[row]!);
  });
  return { stored: packCodes(codes, OUT, IN, bits), scales, factor: 1, decoded };
}

const CASES: Case[] = (['float32', 'float16', 'int8', 'int4', 'float8'] as const).flatMap((weight) =>
  [false, true].flatMap((transforms) =>
    (['none', 'gelu', 'residual'] as const).map((epilogue) => ({ weight, transforms, epilogue })),
  ),
);

function gelu(value: number): number {
  return 0.5 * value * (1 + Math.tanh(0.7978845608028654 * (value + 0.044715 * value ** 3)));
}

describe.skipIf(problem !== undefined)('the tiled prompt linear (llvmpipe)', () => {
  it.each(CASES)(
    '$weight weights, transforms $transforms, epilogue $epilogue: the decode kernel’s outputs for every row',
    async ({ weight, transforms, epilogue }) => {
      const random = createXoshiro128(IN * 7 + weight.length * 3 + (transforms ? 1 : 0) + epilogue.length);
      const uniform = (low: number, high: number) => low + (high - low) * random();
      const { stored, scales, factor, decoded } = makeWeight(weight, random);
      const input = Float32Array.from({ length: ROWS * IN }, () => uniform(-2, 2));
      const bias = Float32Array.from({ length: OUT }, () => uniform(-0.3, 0.3));
      const start = Float32Array.from({ length: ROWS * OUT }, () => uniform(-1, 1));
      const gamma = Float32Array.from({ length: IN }, () => uniform(0.5, 1.5));
      const beta = Float32Array.from({ length: IN }, () => uniform(-0.2, 0.2));
      const preScale = Float32Array.from({ length: IN }, () => uniform(0.5, 2));
      const inputScale = 0.01;
      const parameters = buffer(Float32Array.of(1e-5, inputScale, factor, 0), UNIFORM | COPY_DST);
      const prompt = buffer(Uint32Array.of(0, ROWS, 0, 0), UNIFORM | COPY_DST);
      const weightBuffer = buffer(stored);
      const scalesBuffer = buffer(scales);
      const biasBuffer = buffer(bias);
      const inputBuffer = buffer(input);
      const decodeOutput = buffer(start);
      const tiledOutput = buffer(start);
      const transformed = buffer(new Float32Array(ROWS * IN));
      const extras = transforms
        ? { gammaBuffer: buffer(gamma), betaBuffer: buffer(beta), preScaleBuffer: buffer(preScale) }
        : undefined;
      const options = {
        inFeatures: IN,
        layerNorm: transforms,
        preScale: transforms,
        float8Input: transforms,
      };

      const encoder = kernel.device.createCommandEncoder();
      // The decode kernel, one workgroup row per token row: the numbers to match.
      encode(
        encoder,
        linearShader({ ...options, outFeatures: OUT, weight, epilogue }),
        {
          0: parameters,
          1: inputBuffer,
          2: weightBuffer,
          3: scalesBuffer,
          4: biasBuffer,
          5: decodeOutput,
          ...(extras === undefined
            ? {}
            : { 6: extras.gammaBuffer, 7: extras.betaBuffer, 8: extras.preScaleBuffer }),
        },
        [Math.ceil(OUT / LINEAR_ROWS), ROWS],
      );
      if (extras !== undefined) {
        encode(
          encoder,
          promptInputShader(options),
          {
            0: parameters,
            1: inputBuffer,
            2: transformed,
            3: extras.gammaBuffer,
            4: extras.betaBuffer,
            5: extras.preScaleBuffer,
          },
          [1, ROWS],
        );
      }
      encode(
        encoder,
        promptLinearShader({ inFeatures: IN, outFeatures: OUT, weight, epilogue }),
        {
          0: parameters,
          1: extras === undefined ? inputBuffer : transformed,
          2: weightBuffer,
          3: scalesBuffer,
          4: biasBuffer,
          5: tiledOutput,
          6: prompt,
        },
        [promptLinearWorkgroups(OUT), Math.ceil(ROWS / PROMPT_TILE_ROWS)],
      );
      kernel.device.queue.submit([encoder.finish()]);
      const want = await read(decodeOutput, ROWS * OUT);
      const got = await read(tiledOutput, ROWS * OUT);

      // Both kernels sum 200 float32 products in another order: float32 rounding apart, relative
      // to the size of the products (float8 inputs of up to 448 cancel a lot); a missing or
      // misdecoded term is a thousand times that.
      const inputs = extras === undefined ? input : await read(transformed, ROWS * IN);
      for (let row = 0; row < ROWS; row += 1) {
        for (let column = 0; column < OUT; column += 1) {
          let magnitude = Math.abs(bias[column]!) + Math.abs(start[row * OUT + column]!);
          for (let k = 0; k < IN; k += 1)
            magnitude += Math.abs(inputs[row * IN + k]! * decoded[column * IN + k]!);
          const index = row * OUT + column;
          expect(Math.abs(got[index]! - want[index]!), `[${row}, ${column}]`).toBeLessThan(
            1e-5 * (1 + magnitude),
          );
        }
      }

      if (extras === undefined) {
        // An independent float64 reference, where the input needs no transform.
        for (let row = 0; row < ROWS; row += 1) {
          for (let column = 0; column < OUT; column += 1) {
            let sum = 0;
            for (let k = 0; k < IN; k += 1) sum += input[row * IN + k]! * decoded[column * IN + k]!;
            const value = sum + bias[column]!;
            const index = row * OUT + column;
            const expected =
              epilogue === 'gelu' ? gelu(value) : epilogue === 'residual' ? start[index]! + value : value;
            expect(Math.abs(got[index]! - expected), `[${row}, ${column}]`).toBeLessThan(
              2e-5 * (1 + Math.abs(expected)),
            );
          }
        }
      }
    },
  );

  it('the input transform gives the decode kernel’s normalized, scaled, float8 inputs bit for bit', async () => {
    // A float8 input sits on a grid of 3 mantissa bits: a last-bit difference in the normalized
    // value could move it a whole grid step, so the prompt must normalize exactly as decode does.
    // The decode kernel with an identity weight and no bias writes its transformed input as is.
    const random = createXoshiro128(5);
    const input = Float32Array.from({ length: ROWS * IN }, () => 4 * random() - 2);
    const gamma = Float32Array.from({ length: IN }, () => 0.5 + random());
    const beta = Float32Array.from({ length: IN }, () => 0.4 * random() - 0.2);
    const preScale = Float32Array.from({ length: IN }, () => 0.5 + 1.5 * random());
    const identity = new Float32Array(IN * IN);
    for (let k = 0; k < IN; k += 1) identity[k * IN + k] = 1;
    const options = { inFeatures: IN, layerNorm: true, preScale: true, float8Input: true };
    const parameters = buffer(Float32Array.of(1e-5, 0.01, 1, 0), UNIFORM | COPY_DST);
    const inputBuffer = buffer(input);
    const [gammaBuffer, betaBuffer, preScaleBuffer] = [buffer(gamma), buffer(beta), buffer(preScale)];
    const decoded = buffer(new Float32Array(ROWS * IN));
    const transformed = buffer(new Float32Array(ROWS * IN));
    const encoder = kernel.device.createCommandEncoder();
    encode(
      encoder,
      linearShader({ ...options, outFeatures: IN, weight: 'float32', epilogue: 'none' }),
      {
        0: parameters,
        1: inputBuffer,
        2: buffer(identity),
        3: buffer(Float32Array.of(1)),
        4: buffer(new Float32Array(IN)),
        5: decoded,
        6: gammaBuffer,
        7: betaBuffer,
        8: preScaleBuffer,
      },
      [Math.ceil(IN / LINEAR_ROWS), ROWS],
    );
    encode(
      encoder,
      promptInputShader(options),
      { 0: parameters, 1: inputBuffer, 2: transformed, 3: gammaBuffer, 4: betaBuffer, 5: preScaleBuffer },
      [1, ROWS],
    );
    kernel.device.queue.submit([encoder.finish()]);
    const want = await read(decoded, ROWS * IN);
    const got = await read(transformed, ROWS * IN);
    // Not a trivial pass: most inputs are nonzero grid values.
    expect(want.filter((value) => value !== 0).length).toBeGreaterThan((ROWS * IN) / 2);
    expect(new Uint32Array(got.buffer)).toEqual(new Uint32Array(want.buffer));
  });
});
