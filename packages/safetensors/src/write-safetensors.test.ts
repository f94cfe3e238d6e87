import { mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidArgumentError } from '@ptq/errors';
import { allocateStorage, createTensor, numElements, type Tensor, tensorBytes } from '@ptq/tensor';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { temporaryOutputs, WRITABLE_DTYPES } from './__fixtures__/temporary-outputs';
import { openSafetensors } from './open-safetensors';
import { compareNames } from './prepare-tensors';
import { SAFETENSORS_DTYPE_BYTES, toSafetensorsDType } from './safetensors-dtype';
import { SafetensorsIoError, UnsupportedDTypeError } from './safetensors-errors';
import { writeSafetensors } from './write-safetensors';

const outputs = temporaryOutputs('ptq-safetensors-write-', 'file');
const { nextPath } = outputs;

/** A tensor of random bit patterns (NaN payloads included); bool holds 0 or 1. */
const tensorArbitrary: fc.Arbitrary<Tensor> = fc
  .record({
    dtype: fc.constantFrom(...WRITABLE_DTYPES),
    shape: fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 4 }),
  })
  .chain(({ dtype, shape }) => {
    const count = numElements(shape);
    const byteLength = count * SAFETENSORS_DTYPE_BYTES[toSafetensorsDType(dtype)!];
    const bytes =
      dtype === 'bool'
        ? fc.uint8Array({ min: 0, max: 1, minLength: count, maxLength: count })
        : fc.uint8Array({ minLength: byteLength, maxLength: byteLength });
    return bytes.map((random) => {
      const data = allocateStorage(dtype, count);
      new Uint8Array(data.buffer).set(random);
      return createTensor(dtype, shape, data);
    });
  });

const nameArbitrary = fc.string({ unit: 'binary', maxLength: 12 }).filter((name) => name !== '__metadata__');

describe('writeSafetensors round trips', () => {
  it('every writable dtype, any shape, any bits, any names and metadata', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.tuple(nameArbitrary, tensorArbitrary), {
          minLength: 1,
          maxLength: 5,
          selector: ([name]) => name,
        }),
        fc.option(
          fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 }), { noNullPrototype: true }),
          { nil: undefined },
        ),
        async (entries, metadata) => {
          const path = nextPath();
          await writeSafetensors(path, entries, { metadata });
          const file = await openSafetensors(path);
          try {
            expect(file.metadata).toEqual(metadata ?? {});
            expect(file.tensors.size).toBe(entries.length);
            for (const [name, tensor] of entries) {
              const read = await file.readTensor(name);
              expect(read.dtype).toBe(tensor.dtype);
              expect(read.shape).toEqual(tensor.shape);
              expect(read.data.constructor).toBe(tensor.data.constructor);
              expect(tensorBytes(read)).toEqual(tensorBytes(tensor));
            }
          } finally {
            await file.close();
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it('lays data back to back after an 8-aligned header, each tensor aligned to its element size', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.tuple(nameArbitrary, tensorArbitrary), {
          maxLength: 6,
          selector: ([name]) => name,
        }),
        async (entries) => {
          const path = nextPath();
          await writeSafetensors(path, entries);
          const bytes = await readFile(path);
          const headerLength = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
          expect(headerLength % 8).toBe(0);
          const dataStart = 8 + headerLength;
          const totalBytes = entries.reduce((sum, [, tensor]) => sum + tensor.data.byteLength, 0);
          expect(bytes.byteLength).toBe(dataStart + totalBytes);
          const file = await openSafetensors(path);
          const infos = [...file.tensors.values()].sort((left, right) => left.byteOffset - right.byteOffset);
          let expectedOffset = dataStart;
          for (const info of infos) {
            expect(info.byteOffset).toBe(expectedOffset);
            expect(info.byteOffset % SAFETENSORS_DTYPE_BYTES[info.dtype]).toBe(0);
            expectedOffset += info.byteLength;
          }
          await file.close();
        },
      ),
      { numRuns: 40 },
    );
  });
});

describe('writeSafetensors output', () => {
  const tensors = {
    'h.1.bias': createTensor('float32', [2], new Float32Array([1, 2])),
    mask: createTensor('bool', [3], new Uint8Array([1, 0, 1])),
    'h.0.bias': createTensor('float16', [1], new Uint16Array([0x3c00])),
    positions: createTensor('int64', [2], new BigInt64Array([5n, -6n])),
  };

  it("orders tensors by Python safetensors' dtype rank, then by name", async () => {
    const path = nextPath();
    await writeSafetensors(path, tensors, { metadata: { format: 'pt' } });
    const bytes = await readFile(path);
    const header = bytes.subarray(8, 8 + Number(bytes.readBigUInt64LE(0))).toString('utf8');
    expect(header).toBe(
      '{"__metadata__":{"format":"pt"},' +
        '"positions":{"dtype":"I64","shape":[2],"data_offsets":[0,16]},' +
        '"h.1.bias":{"dtype":"F32","shape":[2],"data_offsets":[16,24]},' +
        '"h.0.bias":{"dtype":"F16","shape":[1],"data_offsets":[24,26]},' +
        '"mask":{"dtype":"BOOL","shape":[3],"data_offsets":[26,29]}}' +
        ' '.repeat(3), // 277 bytes of JSON padded to 280
    );
    expect([...bytes.subarray(8 + 280)]).toEqual([
      5,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0xfa,
      0xff,
      0xff,
      0xff,
      0xff,
      0xff,
      0xff,
      0xff, // int64 5, -6
      0,
      0,
      0x80,
      0x3f,
      0,
      0,
      0,
      0x40, // float32 1, 2
      0x00,
      0x3c, // float16 1
      1,
      0,
      1, // bool
    ]);
  });

  it('is byte-identical whatever the input form and order', async () => {
    const reference = nextPath();
    await writeSafetensors(reference, tensors);
    const shuffled = Object.entries(tensors).reverse();
    async function* generate() {
      yield* shuffled;
    }
    function* generateSync() {
      yield* shuffled;
    }
    for (const input of [new Map(shuffled), shuffled, generate(), generateSync()]) {
      const path = nextPath();
      await writeSafetensors(path, input);
      expect(await readFile(path)).toEqual(await readFile(reference));
    }
  });

  it('writes an empty file set as a valid, empty safetensors file', async () => {
    const path = nextPath();
    await writeSafetensors(path, {});
    expect(await readFile(path)).toEqual(
      Buffer.from([8, 0, 0, 0, 0, 0, 0, 0, 0x7b, 0x7d, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20]),
    );
  });

  it('replaces an existing file and leaves no temporary file', async () => {
    const target = join(outputs.folder, 'replace', 'model.safetensors');
    await mkdir(join(outputs.folder, 'replace'));
    await writeFile(target, 'old content');
    await writeSafetensors(target, tensors);
    const file = await openSafetensors(target);
    expect(file.tensors.size).toBe(4);
    await file.close();
    expect(await readdir(join(outputs.folder, 'replace'))).toEqual(['model.safetensors']);
  });
});

/** Writes over a target holding "original" and checks the failure left it, and nothing else, behind. */
async function expectFailedWriteLeavesNoTrace(
  tensors: Parameters<typeof writeSafetensors>[1],
  expected: RegExp,
  metadata?: Record<string, string>,
): Promise<Error> {
  const subfolder = await mkdtemp(join(outputs.folder, 'failure-'));
  const target = join(subfolder, 'model.safetensors');
  await writeFile(target, 'original');
  const error = await writeSafetensors(target, tensors, { metadata }).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(Error);
  expect((error as Error).message).toMatch(expected);
  expect(await readdir(subfolder)).toEqual(['model.safetensors']);
  expect(await readFile(target, 'utf8')).toBe('original');
  return error as Error;
}

describe('writeSafetensors refuses bad input and leaves the target untouched', () => {
  const valid = createTensor('float32', [2], new Float32Array([1, 2]));

  it('int4, which safetensors cannot hold', async () => {
    const int4 = createTensor('int4', [4], new Uint8Array([0x21, 0x43]));
    const error = await expectFailedWriteLeavesNoTrace(
      { a: valid, q: int4 },
      /tensor "q" is int4, which safetensors has no dtype for; pack it into uint8/,
    );
    expect(error).toBeInstanceOf(UnsupportedDTypeError);
    expect(error).toMatchObject({
      code: 'PTQ_SAFETENSORS_UNSUPPORTED_DTYPE',
      dtype: 'int4',
      tensorName: 'q',
    });
  });

  it.each([
    [
      'data of the wrong type, after valid tensors',
      { a: valid, b: valid, z: { dtype: 'int32', shape: [2], data: new Float32Array(2) } },
      /tensor "z": Invalid argument "data": a int32 tensor needs a Int32Array, got Float32Array/,
    ],
    [
      'data of the wrong length',
      { a: valid, z: { dtype: 'float32', shape: [3], data: new Float32Array(2) } },
      /tensor "z": .*needs 3 storage elements, got 2/,
    ],
    ['no data', { z: { dtype: 'float32', shape: [0] } }, /tensor "z" has no typed-array data/],
    [
      'an unknown dtype',
      { z: { dtype: 'float64', shape: [1], data: new Float64Array(1) } },
      /tensor "z" has unknown dtype float64/,
    ],
    [
      'a shape of rank 9',
      { z: { dtype: 'uint8', shape: [1, 1, 1, 1, 1, 1, 1, 1, 1], data: new Uint8Array(1) } },
      /tensor "z": shape must be an array of at most 8 dimensions/,
    ],
    [
      'a negative dimension',
      { z: { dtype: 'uint8', shape: [-1], data: new Uint8Array(0) } },
      /tensor "z": shape\[0\] must be an integer in \[0, 4294967296\], got -1/,
    ],
    [
      'a dimension over 2^32',
      { z: { dtype: 'uint8', shape: [2 ** 32 + 1, 0], data: new Uint8Array(0) } },
      /shape\[0\] must be an integer in \[0, 4294967296\]/,
    ],
    ['a tensor that is not an object', { z: 3 }, /tensor "z" is not a tensor object/],
    ['a tensor named __metadata__', { __metadata__: valid }, /"__metadata__" is reserved/],
    [
      'a name given twice',
      [
        ['a', valid],
        ['a', valid],
      ],
      /tensor "a" appears twice/,
    ],
    ['an entry that is not a pair', [['a', valid, 3]], /entries must be \[name, tensor\] pairs/],
    ['a name that is not a string', [[1, valid]], /tensor names must be strings, got number/],
    ['no tensors at all', null, /must be an object of tensors or an iterable/],
  ])('%s', async (_, tensors, message) => {
    const error = await expectFailedWriteLeavesNoTrace(tensors as never, message);
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect(error).toMatchObject({ code: 'PTQ_INVALID_ARGUMENT' });
  });

  it('an async source that fails after yielding valid tensors', async () => {
    async function* source() {
      yield ['a', valid] as const;
      throw new InvalidArgumentError('source', 'ran dry');
    }
    await expectFailedWriteLeavesNoTrace(source(), /Invalid argument "source": ran dry/);
  });

  it.each([
    ['a number value', { step: 3 }, /value of "step" must be a string .* got number/],
    ['an array', ['pt'], /must be an object of string values/],
  ])('metadata with %s', async (_, metadata, message) => {
    const error = await expectFailedWriteLeavesNoTrace({ a: valid }, message, metadata as never);
    expect(error).toMatchObject({ code: 'PTQ_INVALID_ARGUMENT', argument: 'metadata' });
  });

  it('a folder that does not exist is an I/O error naming the target', async () => {
    const target = join(outputs.folder, 'absent', 'model.safetensors');
    const error = await writeSafetensors(target, { a: valid }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SafetensorsIoError);
    expect((error as Error).message).toMatch(
      new RegExp(
        `^${target.replaceAll('.', '\\.')}: cannot create the temporary file \\.model\\.safetensors\\.tmp-${process.pid}-[0-9a-f]{8} \\(ENOENT\\)$`,
      ),
    );
  });

  it('a target that is a folder is an I/O error, and the temporary file is removed', async () => {
    const target = await mkdtemp(join(outputs.folder, 'is-a-folder-'));
    const error = await writeSafetensors(target, { a: valid }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SafetensorsIoError);
    expect((error as Error).message).toMatch(/cannot write \((EISDIR|ENOTEMPTY|EEXIST)\)/);
    expect((await readdir(outputs.folder)).filter((name) => name.includes('.tmp-'))).toEqual([]);
  });
});

describe('compareNames', () => {
  it('orders names by UTF-8 bytes, as Rust does, not by UTF-16 code units', () => {
    // U+FFFF is EF BF BF in UTF-8, U+10000 is F0 90 80 80; in UTF-16 U+10000 starts with D800.
    expect(['\u{10000}', '\uffff', 'b', 'a', 'B'].sort(compareNames)).toEqual([
      'B',
      'a',
      'b',
      '\uffff',
      '\u{10000}',
    ]);
  });
});
