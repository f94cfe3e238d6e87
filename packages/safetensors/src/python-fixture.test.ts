import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Tensor, tensorBytes } from '@ptq/tensor';
import { describe, expect, it } from 'vitest';
import { openSafetensors } from './open-safetensors';
import { isSafetensorsDType, type SafetensorsDType, toPtqDType } from './safetensors-dtype';
import { UnsupportedDTypeError } from './safetensors-errors';
import { writeSafetensors } from './write-safetensors';

/*
 * `python-mixed.safetensors` is written by Python's `safetensors` from PyTorch tensors, and
 * `python-mixed.json` describes it:
 *   {"metadata": {...}, "tensors": {name: {"dtype", "shape", "values"}}}
 * (an array of {"name", ...} entries, or a bare array, is read too). `dtype` is the torch name
 * ("float8_e4m3fn", "torch.bfloat16") or the safetensors name ("BF16"); `values` are float64 numbers,
 * row-major, flat or nested, fp16/bf16/fp8 as their exact decoded values; non-finite values may be
 * "nan", "inf", "-inf"; bool as true/false or 0/1.
 */
const fixtureFile = fileURLToPath(new URL('./__fixtures__/python-mixed.safetensors', import.meta.url));
const descriptionFile = fileURLToPath(new URL('./__fixtures__/python-mixed.json', import.meta.url));
const fixturesPresent = existsSync(fixtureFile) && existsSync(descriptionFile);

interface FixtureTensor {
  name: string;
  dtype: string;
  shape: number[];
  values: unknown;
}

const TORCH_NAMES: Readonly<Record<string, SafetensorsDType>> = {
  float64: 'F64',
  double: 'F64',
  float32: 'F32',
  float: 'F32',
  float16: 'F16',
  half: 'F16',
  bfloat16: 'BF16',
  float8_e4m3fn: 'F8_E4M3',
  float8_e5m2: 'F8_E5M2',
  int64: 'I64',
  long: 'I64',
  int32: 'I32',
  int: 'I32',
  int16: 'I16',
  short: 'I16',
  int8: 'I8',
  uint8: 'U8',
  uint16: 'U16',
  uint32: 'U32',
  uint64: 'U64',
  bool: 'BOOL',
};

function toSafetensorsName(dtype: string): SafetensorsDType {
  if (isSafetensorsDType(dtype)) return dtype;
  const name = TORCH_NAMES[dtype.replace(/^torch\./, '')];
  if (name === undefined) throw new Error(`python-mixed.json: unknown dtype ${dtype}`);
  return name;
}

function toNumber(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'string') {
    const lower = value.toLowerCase();
    if (lower === 'nan') return Number.NaN;
    if (lower === 'inf' || lower === 'infinity' || lower === '+inf') return Number.POSITIVE_INFINITY;
    if (lower === '-inf' || lower === '-infinity') return Number.NEGATIVE_INFINITY;
  }
  throw new Error(`python-mixed.json: value ${JSON.stringify(value)} is not a number`);
}

// Decoders written from the IEEE 754 / OCP FP8 definitions, independent of @ptq/tensor's codecs.
function decodeMinifloat(
  bits: number,
  exponentBits: number,
  mantissaBits: number,
  hasInfinity: boolean,
): number {
  const sign = bits >> (exponentBits + mantissaBits) ? -1 : 1;
  const exponent = (bits >> mantissaBits) & ((1 << exponentBits) - 1);
  const mantissa = bits & ((1 << mantissaBits) - 1);
  const bias = (1 << (exponentBits - 1)) - 1;
  const allOnes = (1 << exponentBits) - 1;
  if (hasInfinity && exponent === allOnes)
    return mantissa === 0 ? sign * Number.POSITIVE_INFINITY : Number.NaN;
  // e4m3fn has no infinity; only S.1111.111 is NaN.
  if (!hasInfinity && exponent === allOnes && mantissa === (1 << mantissaBits) - 1) return Number.NaN;
  if (exponent === 0) return sign * mantissa * 2 ** (1 - bias - mantissaBits);
  return sign * (1 + mantissa / 2 ** mantissaBits) * 2 ** (exponent - bias);
}

function decodeValues(dtype: SafetensorsDType, bytes: Uint8Array): number[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const values: number[] = [];
  const step =
    { F64: 8, I64: 8, U64: 8, F32: 4, I32: 4, U32: 4, F16: 2, BF16: 2, I16: 2, U16: 2 }[dtype as string] ?? 1;
  for (let offset = 0; offset < bytes.byteLength; offset += step) {
    switch (dtype) {
      case 'F64':
        values.push(view.getFloat64(offset, true));
        break;
      case 'F32':
        values.push(view.getFloat32(offset, true));
        break;
      case 'F16':
        values.push(decodeMinifloat(view.getUint16(offset, true), 5, 10, true));
        break;
      case 'BF16':
        values.push(new Float32Array(new Uint32Array([view.getUint16(offset, true) << 16]).buffer)[0]!);
        break;
      case 'F8_E4M3':
        values.push(decodeMinifloat(view.getUint8(offset), 4, 3, false));
        break;
      case 'F8_E5M2':
        values.push(decodeMinifloat(view.getUint8(offset), 5, 2, true));
        break;
      case 'I64':
        values.push(Number(view.getBigInt64(offset, true)));
        break;
      case 'U64':
        values.push(Number(view.getBigUint64(offset, true)));
        break;
      case 'I32':
        values.push(view.getInt32(offset, true));
        break;
      case 'U32':
        values.push(view.getUint32(offset, true));
        break;
      case 'I16':
        values.push(view.getInt16(offset, true));
        break;
      case 'U16':
        values.push(view.getUint16(offset, true));
        break;
      case 'I8':
        values.push(view.getInt8(offset));
        break;
      default:
        values.push(view.getUint8(offset));
    }
  }
  return values;
}

function readDescription(): { metadata?: Record<string, string>; tensors: FixtureTensor[] } {
  const description = JSON.parse(readFileSync(descriptionFile, 'utf8')) as
    | FixtureTensor[]
    | {
        metadata?: Record<string, string>;
        tensors: FixtureTensor[] | Record<string, Omit<FixtureTensor, 'name'>>;
      };
  if (Array.isArray(description)) return { tensors: description };
  const { metadata, tensors } = description;
  return {
    metadata,
    tensors: Array.isArray(tensors)
      ? tensors
      : Object.entries(tensors).map(([name, tensor]) => ({ name, ...tensor })),
  };
}

describe('decodeMinifloat', () => {
  it.each([
    [0x3c00, 5, 10, true, 1],
    [0xc000, 5, 10, true, -2],
    [0x7bff, 5, 10, true, 65504],
    [0x0001, 5, 10, true, 2 ** -24],
    [0x7c00, 5, 10, true, Number.POSITIVE_INFINITY],
    [0x38, 4, 3, false, 1],
    [0x7e, 4, 3, false, 448],
    [0x01, 4, 3, false, 2 ** -9],
    [0xff, 4, 3, false, Number.NaN],
    [0x7b, 5, 2, true, 57344],
    [0x80, 5, 2, true, -0],
  ])('%i (e%i m%i, infinity %s) is %d', (bits, exponentBits, mantissaBits, hasInfinity, value) => {
    expect(decodeMinifloat(bits, exponentBits, mantissaBits, hasInfinity)).toBe(value);
  });
});

describe('a file written by Python safetensors', () => {
  it.skipIf(!fixturesPresent)(
    `matches python-mixed.json${fixturesPresent ? '' : ' (skipped: src/__fixtures__/python-mixed.safetensors and python-mixed.json are not added yet)'}`,
    async () => {
      const { metadata, tensors: expected } = readDescription();
      expect(expected.length).toBeGreaterThan(0);
      const file = await openSafetensors(fixtureFile);
      try {
        if (metadata !== undefined) {
          expect(file.metadata).toEqual(metadata);
        }
        expect(new Set(file.tensors.keys())).toEqual(new Set(expected.map((tensor) => tensor.name)));
        for (const tensor of expected) {
          const dtype = toSafetensorsName(tensor.dtype);
          const info = file.tensors.get(tensor.name);
          expect(info, tensor.name).toMatchObject({ dtype, shape: tensor.shape });
          const bytes = await file.readTensorBytes(tensor.name);
          const values = [tensor.values].flat(Number.POSITIVE_INFINITY).map(toNumber);
          expect(decodeValues(dtype, bytes), tensor.name).toEqual(values);

          const ptqDType = toPtqDType(dtype);
          if (ptqDType === undefined) {
            await expect(file.readTensor(tensor.name)).rejects.toThrow(UnsupportedDTypeError);
          } else {
            const read = await file.readTensor(tensor.name);
            expect(read.dtype, tensor.name).toBe(ptqDType);
            expect(read.shape, tensor.name).toEqual(tensor.shape);
            expect(tensorBytes(read), tensor.name).toEqual(bytes);
          }
        }
      } finally {
        await file.close();
      }
    },
  );

  it.skipIf(!fixturesPresent)(
    `is what writeSafetensors writes for the same tensors, byte for byte${fixturesPresent ? '' : ' (skipped: fixtures not added yet)'}`,
    async () => {
      const python = await openSafetensors(fixtureFile);
      const tensors: [string, Tensor][] = [];
      for (const name of python.tensors.keys()) {
        tensors.push([name, await python.readTensor(name)]);
      }
      await python.close();
      const folder = await mkdtemp(join(tmpdir(), 'ptq-safetensors-python-'));
      try {
        const path = join(folder, 'ours.safetensors');
        // Python writes its metadata in hash order; passing the keys in that order makes it comparable.
        await writeSafetensors(path, tensors.reverse(), { metadata: python.metadata });
        expect(await readFile(path)).toEqual(readFileSync(fixtureFile));
      } finally {
        await rm(folder, { recursive: true, force: true });
      }
    },
  );
});
