import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, symlink, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidArgumentError, PtqError } from '@ptq/errors';
import { NotARegularFileError } from '@ptq/files';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSafetensors } from './open-safetensors';
import { MAX_HEADER_LENGTH } from './parse-safetensors-header';
import {
  MissingTensorError,
  SafetensorsClosedError,
  SafetensorsFormatError,
  SafetensorsIoError,
  UnsupportedDTypeError,
} from './safetensors-errors';

let folder: string;
beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), 'ptq-safetensors-open-'));
});
afterAll(async () => {
  await rm(folder, { recursive: true, force: true });
});

let fileCount = 0;
async function writeBytes(bytes: Uint8Array): Promise<string> {
  const path = join(folder, `file-${fileCount++}.safetensors`);
  await writeFile(path, bytes);
  return path;
}

/** A file from header text and data bytes; `declaredLength` overrides the u64 length prefix. */
async function rawFile(
  header: string,
  data: Uint8Array = new Uint8Array(),
  declaredLength?: bigint,
): Promise<string> {
  const json = new TextEncoder().encode(header);
  const bytes = new Uint8Array(8 + json.byteLength + data.byteLength);
  new DataView(bytes.buffer).setBigUint64(0, declaredLength ?? BigInt(json.byteLength), true);
  bytes.set(json, 8);
  bytes.set(data, 8 + json.byteLength);
  return writeBytes(bytes);
}

/** A one-tensor header around the given entry JSON. */
function oneTensor(entry: string): string {
  return `{"t":${entry}}`;
}

describe('openSafetensors on a file built byte by byte', () => {
  // Written out from the format description, independently of the writer: every offset, every data
  // byte and the 4 bytes of space padding are literal.
  const header =
    '{"__metadata__":{"format":"pt"},' +
    '"f64":{"dtype":"F64","shape":[1],"data_offsets":[0,8]},' +
    '"i64":{"dtype":"I64","shape":[1],"data_offsets":[8,16]},' +
    '"f32":{"dtype":"F32","shape":[2],"data_offsets":[16,24]},' +
    '"i32":{"dtype":"I32","shape":[1,2],"data_offsets":[24,32]},' +
    '"f16":{"dtype":"F16","shape":[2],"data_offsets":[32,36]},' +
    '"bf16":{"dtype":"BF16","shape":[2],"data_offsets":[36,40]},' +
    '"f8":{"dtype":"F8_E4M3","shape":[2],"data_offsets":[40,42]},' +
    '"i8":{"dtype":"I8","shape":[2],"data_offsets":[42,44]},' +
    '"u8":{"dtype":"U8","shape":[2],"data_offsets":[44,46]},' +
    '"flags":{"dtype":"BOOL","shape":[2],"data_offsets":[46,48]},' +
    '"scalar":{"dtype":"F32","shape":[],"data_offsets":[48,52]},' +
    '"empty":{"dtype":"U8","shape":[0,3],"data_offsets":[52,52]}}' +
    '    ';
  const bytes = new Uint8Array([
    // 728 = 0x2d8: the 724-byte JSON plus 4 spaces, as a little-endian u64.
    0xd8,
    0x02,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    ...new TextEncoder().encode(header),
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0xf0,
    0x3f, // f64: 1.0
    0xfe,
    0xff,
    0xff,
    0xff,
    0xff,
    0xff,
    0xff,
    0xff, // i64: -2
    0x00,
    0x00,
    0x80,
    0x3f,
    0x00,
    0x00,
    0x20,
    0xc0, // f32: 1.0, -2.5
    0x02,
    0x01,
    0x00,
    0x00,
    0xff,
    0xff,
    0xff,
    0xff, // i32: 258, -1
    0x00,
    0x3c,
    0x00,
    0xb8, // f16: 1.0 (0x3c00), -0.5 (0xb800)
    0x80,
    0x3f,
    0x40,
    0x40, // bf16: 1.0 (0x3f80), 3.0 (0x4040)
    0x38,
    0xfe, // f8 e4m3fn: 1.0, -448
    0x80,
    0x7f, // i8: -128, 127
    0x00,
    0xff, // u8: 0, 255
    0x01,
    0x00, // bool: true, false
    0x00,
    0x00,
    0x00,
    0x3f, // scalar f32: 0.5
  ]);
  const dataStart = 8 + 728;

  it('has the header length the bytes say', () => {
    expect(new TextEncoder().encode(header).byteLength).toBe(728);
    expect(bytes.byteLength).toBe(dataStart + 52);
  });

  it('reads metadata, tensor table and every supported dtype', async () => {
    const file = await openSafetensors(await writeBytes(bytes));
    try {
      expect(file.metadata).toEqual({ format: 'pt' });
      expect([...file.tensors.keys()]).toEqual([
        'f64',
        'i64',
        'f32',
        'i32',
        'f16',
        'bf16',
        'f8',
        'i8',
        'u8',
        'flags',
        'scalar',
        'empty',
      ]);
      expect(file.tensors.get('i32')).toEqual({
        dtype: 'I32',
        shape: [1, 2],
        byteOffset: dataStart + 24,
        byteLength: 8,
      });
      expect(file.tensors.get('empty')).toEqual({
        dtype: 'U8',
        shape: [0, 3],
        byteOffset: dataStart + 52,
        byteLength: 0,
      });

      expect(await file.readTensor('i64')).toEqual({
        dtype: 'int64',
        shape: [1],
        data: new BigInt64Array([-2n]),
      });
      expect(await file.readTensor('f32')).toEqual({
        dtype: 'float32',
        shape: [2],
        data: new Float32Array([1, -2.5]),
      });
      expect(await file.readTensor('i32')).toEqual({
        dtype: 'int32',
        shape: [1, 2],
        data: new Int32Array([258, -1]),
      });
      expect(await file.readTensor('f16')).toEqual({
        dtype: 'float16',
        shape: [2],
        data: new Uint16Array([0x3c00, 0xb800]),
      });
      expect(await file.readTensor('bf16')).toEqual({
        dtype: 'bfloat16',
        shape: [2],
        data: new Uint16Array([0x3f80, 0x4040]),
      });
      expect(await file.readTensor('f8')).toEqual({
        dtype: 'float8e4m3fn',
        shape: [2],
        data: new Uint8Array([0x38, 0xfe]),
      });
      expect(await file.readTensor('i8')).toEqual({
        dtype: 'int8',
        shape: [2],
        data: new Int8Array([-128, 127]),
      });
      expect(await file.readTensor('u8')).toEqual({
        dtype: 'uint8',
        shape: [2],
        data: new Uint8Array([0, 255]),
      });
      expect(await file.readTensor('flags')).toEqual({
        dtype: 'bool',
        shape: [2],
        data: new Uint8Array([1, 0]),
      });
      expect(await file.readTensor('scalar')).toEqual({
        dtype: 'float32',
        shape: [],
        data: new Float32Array([0.5]),
      });
      expect(await file.readTensor('empty')).toEqual({
        dtype: 'uint8',
        shape: [0, 3],
        data: new Uint8Array(0),
      });
    } finally {
      await file.close();
    }
  });

  it('gives raw bytes for any dtype and refuses F64 as a tensor', async () => {
    const file = await openSafetensors(await writeBytes(bytes));
    try {
      expect(await file.readTensorBytes('f64')).toEqual(new Uint8Array([0, 0, 0, 0, 0, 0, 0xf0, 0x3f]));
      expect(await file.readTensorBytes('i32')).toEqual(new Uint8Array([2, 1, 0, 0, 255, 255, 255, 255]));
      const error = await file.readTensor('f64').catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(UnsupportedDTypeError);
      expect(error).toMatchObject({
        code: 'PTQ_SAFETENSORS_UNSUPPORTED_DTYPE',
        dtype: 'F64',
        tensorName: 'f64',
      });
      expect((error as Error).message).toMatch(/"f64" is F64.*readTensorBytes/);
    } finally {
      await file.close();
    }
  });

  it('reads raw bytes into a view of a shared buffer, leaving the rest of it alone, and refuses a target of the wrong length', async () => {
    const file = await openSafetensors(await writeBytes(bytes));
    try {
      const shared = new Uint8Array(16).fill(0xaa);
      const read = await file.readTensorBytes('i32', shared.subarray(4, 12));
      expect(read.buffer).toBe(shared.buffer);
      expect([...shared]).toEqual([
        ...[0xaa, 0xaa, 0xaa, 0xaa],
        ...[2, 1, 0, 0, 255, 255, 255, 255],
        ...[0xaa, 0xaa, 0xaa, 0xaa],
      ]);
      const error = await file
        .readTensorBytes('i32', shared.subarray(0, 12))
        .catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect((error as Error).message).toMatch(/"i32" .* is 8 bytes; the target holds 12/);
      expect(shared[0]).toBe(0xaa);
    } finally {
      await file.close();
    }
  });

  it('returns typed arrays that own aligned buffers, even for tensors at odd file offsets', async () => {
    const file = await openSafetensors(await writeBytes(bytes));
    const scalar = await file.readTensor('scalar');
    const i32 = await file.readTensor('i32');
    await file.close();
    for (const tensor of [scalar, i32]) {
      expect(tensor.data.byteOffset).toBe(0);
      expect(tensor.data.buffer.byteLength).toBe(tensor.data.byteLength);
    }
  });
});

describe('openSafetensors reads every unsupported dtype only as bytes', () => {
  it.each([
    ['F8_E5M2', 1],
    ['I16', 2],
    ['U16', 2],
    ['U32', 4],
    ['U64', 8],
  ])('%s', async (dtype, size) => {
    const path = await rawFile(
      oneTensor(`{"dtype":"${dtype}","shape":[1],"data_offsets":[0,${size}]}`),
      new Uint8Array(size).fill(7),
    );
    const file = await openSafetensors(path);
    await expect(file.readTensor('t')).rejects.toThrow(UnsupportedDTypeError);
    expect(await file.readTensorBytes('t')).toEqual(new Uint8Array(size).fill(7));
    await file.close();
  });
});

describe('openSafetensors accepts what the format allows', () => {
  it('a header padded with trailing spaces, no metadata, an empty header object', async () => {
    const padded = await openSafetensors(
      await rawFile(
        `${oneTensor('{"dtype":"U8","shape":[2],"data_offsets":[0,2]}')}      `,
        new Uint8Array([4, 5]),
      ),
    );
    expect(padded.metadata).toEqual({});
    expect(await padded.readTensorBytes('t')).toEqual(new Uint8Array([4, 5]));
    await padded.close();
    const empty = await openSafetensors(await rawFile('{}'));
    expect(empty.tensors.size).toBe(0);
    await empty.close();
  });

  it('keeps a metadata key named __proto__ as a plain key', async () => {
    const file = await openSafetensors(await rawFile('{"__metadata__":{"__proto__":"x","a":"b"}}'));
    expect(Object.keys(file.metadata)).toEqual(['__proto__', 'a']);
    expect(Object.getPrototypeOf(file.metadata)).toBe(Object.prototype);
    await file.close();
  });
});

/** Opens `path` and returns the error it fails with. */
async function openError(path: string): Promise<Error> {
  const error = await openSafetensors(path).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (!(error instanceof Error)) throw new Error('expected openSafetensors to fail');
  return error;
}

async function expectFormatError(path: string, message: RegExp): Promise<void> {
  const error = await openError(path);
  expect(error).toBeInstanceOf(SafetensorsFormatError);
  expect(error).toMatchObject({ code: 'PTQ_SAFETENSORS_FORMAT', file: path });
  expect(error.message.startsWith(`${path}: `)).toBe(true);
  expect(error.message).toMatch(message);
}

describe('openSafetensors rejects a truncated file', () => {
  it.each([0, 1, 7])('of %i bytes, shorter than the length prefix', async (size) => {
    await expectFormatError(
      await writeBytes(new Uint8Array(size)),
      new RegExp(`file is ${size} bytes, shorter than the 8-byte header length`),
    );
  });

  it('whose header is cut', async () => {
    const header = oneTensor('{"dtype":"U8","shape":[2],"data_offsets":[0,2]}');
    const full = new TextEncoder().encode(header);
    const bytes = new Uint8Array(8 + 10);
    new DataView(bytes.buffer).setBigUint64(0, BigInt(full.byteLength), true);
    bytes.set(full.subarray(0, 10), 8);
    await expectFormatError(
      await writeBytes(bytes),
      new RegExp(`header length ${full.byteLength} runs past the end of the file: only 10 bytes follow`),
    );
  });

  it('whose data is cut', async () => {
    await expectFormatError(
      await rawFile(oneTensor('{"dtype":"F32","shape":[4],"data_offsets":[0,16]}'), new Uint8Array(12)),
      /tensor "t": data_offsets \[0, 16\] end past the 12-byte data buffer/,
    );
  });

  it('after it was opened: the read reports where the file ended', async () => {
    const path = await rawFile(
      oneTensor('{"dtype":"F32","shape":[4],"data_offsets":[0,16]}'),
      new Uint8Array(16),
    );
    const file = await openSafetensors(path);
    const headerEnd = file.tensors.get('t')!.byteOffset;
    await truncate(path, headerEnd + 5);
    const error = await file.readTensor('t').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SafetensorsFormatError);
    expect((error as Error).message).toMatch(
      new RegExp(`file ended at byte ${headerEnd + 5} while reading 16 bytes`),
    );
    await file.close();
  });
});

describe('openSafetensors rejects a bad header length', () => {
  it('over MAX_HEADER_LENGTH, checked before the file size', async () => {
    await expectFormatError(
      await rawFile('{}', new Uint8Array(), BigInt(MAX_HEADER_LENGTH + 1)),
      /header length 100000001 exceeds the limit of 100000000 bytes \(MAX_HEADER_LENGTH\)/,
    );
  });

  it('of u64 max, which a number would not hold exactly', async () => {
    await expectFormatError(
      await rawFile('{}', new Uint8Array(), 2n ** 64n - 1n),
      /header length 18446744073709551615 exceeds/,
    );
  });

  it('beyond the end of the file', async () => {
    await expectFormatError(
      await rawFile('{}', new Uint8Array(), 3n),
      /header length 3 runs past the end of the file: only 2 bytes follow/,
    );
  });
});

describe('openSafetensors rejects a bad header', () => {
  it.each([
    ['invalid JSON', '{"t": {', /header is not valid JSON/],
    ['an empty header', '', /header is not valid JSON/],
    ['a JSON array', '[1,2]', /header must be a JSON object, got array \[1,2\]/],
    ['JSON null', 'null', /header must be a JSON object, got null/],
    ['a JSON string', '"x"', /header must be a JSON object, got string "x"/],
  ])('%s', async (_, header, message) => {
    await expectFormatError(await rawFile(header), message);
  });

  it('invalid UTF-8', async () => {
    const bytes = new Uint8Array([4, 0, 0, 0, 0, 0, 0, 0, 0x22, 0xff, 0xfe, 0x22]);
    await expectFormatError(await writeBytes(bytes), /header is not valid UTF-8/);
  });

  it.each([
    [
      'an entry that is not an object',
      '"t":[1]',
      /tensor "t": entry must be an object with dtype, shape and data_offsets, got array/,
    ],
    [
      'an unknown dtype',
      '"t":{"dtype":"F128","shape":[1],"data_offsets":[0,16]}',
      /tensor "t": dtype string "F128" is not a safetensors dtype \(F64, F32/,
    ],
    [
      'a lower-case dtype',
      '"t":{"dtype":"f32","shape":[1],"data_offsets":[0,4]}',
      /dtype string "f32" is not a safetensors dtype/,
    ],
    ['a missing dtype', '"t":{"shape":[1],"data_offsets":[0,4]}', /dtype nothing is not a safetensors dtype/],
    [
      'a shape that is not an array',
      '"t":{"dtype":"U8","shape":4,"data_offsets":[0,4]}',
      /tensor "t": shape must be an array of at most 8 dimensions, got number 4/,
    ],
    [
      'a shape of rank 9',
      '"t":{"dtype":"U8","shape":[1,1,1,1,1,1,1,1,1],"data_offsets":[0,1]}',
      /shape must be an array of at most 8 dimensions/,
    ],
    [
      'a negative dimension',
      '"t":{"dtype":"U8","shape":[2,-1],"data_offsets":[0,0]}',
      /tensor "t": shape\[1\] must be an integer in \[0, 4294967296\], got number -1/,
    ],
    [
      'a fractional dimension',
      '"t":{"dtype":"U8","shape":[1.5],"data_offsets":[0,1]}',
      /shape\[0\] must be an integer in \[0, 4294967296\], got number 1.5/,
    ],
    [
      'a dimension over 2^32',
      '"t":{"dtype":"U8","shape":[4294967297,0],"data_offsets":[0,0]}',
      /shape\[0\] must be an integer in \[0, 4294967296\], got number 4294967297/,
    ],
    [
      'a string dimension',
      '"t":{"dtype":"U8","shape":["2"],"data_offsets":[0,2]}',
      /shape\[0\] must be an integer .* got string "2"/,
    ],
    [
      'missing data_offsets',
      '"t":{"dtype":"U8","shape":[2]}',
      /tensor "t": data_offsets must be \[begin, end\], two non-negative integers, got nothing/,
    ],
    [
      'three data_offsets',
      '"t":{"dtype":"U8","shape":[2],"data_offsets":[0,2,4]}',
      /data_offsets must be \[begin, end\]/,
    ],
    [
      'a negative offset',
      '"t":{"dtype":"U8","shape":[0],"data_offsets":[-1,-1]}',
      /data_offsets must be \[begin, end\], two non-negative integers, got array \[-1,-1\]/,
    ],
    [
      'a fractional offset',
      '"t":{"dtype":"U8","shape":[2],"data_offsets":[0,2.5]}',
      /data_offsets must be \[begin, end\]/,
    ],
    [
      'begin after end',
      '"t":{"dtype":"U8","shape":[0],"data_offsets":[4,2]}',
      /tensor "t": data_offsets \[4, 2\] begin after end/,
    ],
    [
      'an offset past the buffer',
      '"t":{"dtype":"U8","shape":[2],"data_offsets":[7,9]}',
      /tensor "t": data_offsets \[7, 9\] end past the 8-byte data buffer/,
    ],
    [
      'an offset past 2^53',
      '"t":{"dtype":"U8","shape":[2],"data_offsets":[0,9007199254740993]}',
      /data_offsets must be \[begin, end\]/,
    ],
    [
      'a length shorter than dtype × shape',
      '"t":{"dtype":"F32","shape":[2,3],"data_offsets":[0,8]}',
      /tensor "t": data_offsets \[0, 8\] span 8 bytes, but F32 of shape \[2, 3\] needs 24 \(6 elements × 4 bytes\)/,
    ],
    [
      'a length longer than dtype × shape',
      '"t":{"dtype":"BF16","shape":[3],"data_offsets":[0,8]}',
      /span 8 bytes, but BF16 of shape \[3\] needs 6 \(3 elements × 2 bytes\)/,
    ],
    [
      'a shape whose byte count overflows 2^53',
      '"t":{"dtype":"F64","shape":[4294967296,4294967296],"data_offsets":[0,8]}',
      /needs 147573952589676412928 \(18446744073709551616 elements × 8 bytes\)/,
    ],
    [
      'metadata that is not an object',
      '"__metadata__":["a"]',
      /__metadata__ must be an object of string values, got array \["a"\]/,
    ],
    [
      'metadata with a number value',
      '"__metadata__":{"format":"pt","step":3}',
      /__metadata__\["step"\] must be a string, got number 3/,
    ],
    [
      'metadata with a null value',
      '"__metadata__":{"format":null}',
      /__metadata__\["format"\] must be a string, got null/,
    ],
    [
      'metadata that is null',
      '"__metadata__":null',
      /__metadata__ must be an object of string values, got null/,
    ],
  ])('%s', async (_, members, message) => {
    await expectFormatError(await rawFile(`{${members}}`, new Uint8Array(8)), message);
  });

  it('overlapping tensors, naming both', async () => {
    const header =
      '{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},' +
      '"c":{"dtype":"U8","shape":[4],"data_offsets":[6,10]},' +
      '"b":{"dtype":"U8","shape":[4],"data_offsets":[3,7]}}';
    await expectFormatError(
      await rawFile(header, new Uint8Array(10)),
      /tensors "a" \[0, 4\] and "b" \[3, 7\] overlap in data_offsets/,
    );
  });

  it('two tensors over the same bytes', async () => {
    const header =
      '{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"I8","shape":[4],"data_offsets":[0,4]}}';
    await expectFormatError(
      await rawFile(header, new Uint8Array(4)),
      /tensors "a" \[0, 4\] and "b" \[0, 4\] overlap/,
    );
  });

  it('an empty tensor inside another, as Rust safetensors rejects it', async () => {
    const header =
      '{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"z":{"dtype":"F32","shape":[0],"data_offsets":[2,2]}}';
    await expectFormatError(
      await rawFile(header, new Uint8Array(4)),
      /empty tensor "z" \[2, 2\] sits inside "a" \[0, 4\]; data_offsets must follow one another$/,
    );
  });
});

/** A header of U8 tensors `[name, begin, end]`, each of shape [end - begin]. */
function u8Header(...tensors: [string, number, number][]): string {
  const entries = tensors.map(
    ([name, begin, end]) =>
      `${JSON.stringify(name)}:{"dtype":"U8","shape":[${end - begin}],"data_offsets":[${begin},${end}]}`,
  );
  return `{${entries.join(',')}}`;
}

describe('openSafetensors rejects what Python safetensors rejects', () => {
  it('a tensor named twice whose second entry points elsewhere, though the last entries alone tile the buffer', async () => {
    // JSON.parse keeps w = [4, 8] and v = [0, 4], a valid layout: only the duplicate gives it away.
    const path = await rawFile(u8Header(['w', 0, 4], ['v', 0, 4], ['w', 4, 8]), new Uint8Array(8));
    await expectFormatError(path, /: header holds tensor "w" twice; which entry is meant is ambiguous$/);
  });

  it.each([
    ['the same entry twice', u8Header(['t', 0, 4], ['t', 0, 4]), /header holds tensor "t" twice/],
    [
      'a name spelled twice, once with an escape',
      u8Header(['w', 0, 4]).replace('}}', '},"\\u0077":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}}'),
      /header holds tensor "w" twice/,
    ],
    [
      'a field twice in one entry',
      '{"t":{"dtype":"U8","shape":[4],"data_offsets":[4,8],"data_offsets":[0,4]}}',
      /: tensor "t": its entry holds "data_offsets" twice$/,
    ],
    [
      '__metadata__ twice',
      '{"__metadata__":{"a":"1"},"t":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"__metadata__":{"a":"2"}}',
      /: header holds __metadata__ twice$/,
    ],
    [
      'a metadata key twice',
      '{"__metadata__":{"format":"pt","format":"tf"},"t":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}}',
      /: __metadata__ holds key "format" twice$/,
    ],
  ])('a duplicate key: %s', async (_, header, message) => {
    await expectFormatError(await rawFile(header, new Uint8Array(4)), message);
  });

  it('a hole before the first tensor', async () => {
    await expectFormatError(
      await rawFile(u8Header(['a', 2, 6]), new Uint8Array(6)),
      /: bytes \[0, 2\) of the data buffer belong to no tensor: a gap before the first tensor "a" \[2, 6\] \(data_offsets must cover the buffer without gaps\)$/,
    );
  });

  it('a hole between two tensors, naming both, whatever the header order', async () => {
    await expectFormatError(
      await rawFile(u8Header(['c', 8, 10], ['b', 6, 8], ['a', 0, 4]), new Uint8Array(10)),
      /: bytes \[4, 6\) of the data buffer belong to no tensor: a gap between "a" \[0, 4\] and "b" \[6, 8\]/,
    );
  });

  it('trailing bytes after the last tensor', async () => {
    await expectFormatError(
      await rawFile(u8Header(['a', 0, 4], ['b', 4, 6]), new Uint8Array(9)),
      /: the data buffer ends with 3 bytes \[6, 9\) that no tensor holds, after the last tensor "b" \[4, 6\] \(the last tensor must end at the end of the file\)$/,
    );
  });

  it('trailing bytes after a header without tensors', async () => {
    await expectFormatError(
      await rawFile('{"__metadata__":{"format":"pt"}}', new Uint8Array(1)),
      /: the data buffer holds 1 byte \[0, 1\) but the header lists no tensor$/,
    );
  });

  it('keeps the message to one short line when a name is a megabyte long', async () => {
    const long = `h.${'x'.repeat(1_000_000)}`;
    const path = await rawFile(u8Header([long, 2, 4], [long, 2, 4]), new Uint8Array(4));
    const error = await openError(path);
    expect(error).toBeInstanceOf(SafetensorsFormatError);
    expect(error.message).toBe(
      `${path}: header holds tensor "h.${'x'.repeat(98)}"… (1000002 characters) twice; which entry is meant is ambiguous`,
    );
    const gap = await openError(await rawFile(u8Header([long, 2, 4]), new Uint8Array(4)));
    expect(gap.message.length).toBeLessThan(path.length + 300);
    expect(gap.message).not.toMatch(/\n/);
  });

  it('overlapping tensors given out of order', async () => {
    await expectFormatError(
      await rawFile(u8Header(['late', 4, 8], ['early', 0, 6]), new Uint8Array(8)),
      /: tensors "early" \[0, 6\] and "late" \[4, 8\] overlap in data_offsets$/,
    );
  });
});

describe('openSafetensors accepts the layouts Python safetensors accepts', () => {
  it('empty tensors at the start, between two tensors, twice at one offset, and at the end', async () => {
    const header = u8Header(
      ['b', 4, 6],
      ['empty-end', 6, 6],
      ['a', 0, 4],
      ['empty-start', 0, 0],
      ['empty-middle', 4, 4],
      ['empty-middle-again', 4, 4],
    );
    const file = await openSafetensors(await rawFile(header, new Uint8Array([1, 2, 3, 4, 5, 6])));
    expect(await file.readTensorBytes('a')).toEqual(new Uint8Array([1, 2, 3, 4]));
    expect(await file.readTensorBytes('b')).toEqual(new Uint8Array([5, 6]));
    expect(await file.readTensorBytes('empty-middle')).toEqual(new Uint8Array(0));
    expect([...file.tensors.keys()]).toEqual([
      'b',
      'empty-end',
      'a',
      'empty-start',
      'empty-middle',
      'empty-middle-again',
    ]);
    await file.close();
  });
});

describe('openSafetensors I/O failures', () => {
  it('a missing file is an I/O error naming it', async () => {
    const path = join(folder, 'absent.safetensors');
    const error = await openError(path);
    expect(error).toBeInstanceOf(SafetensorsIoError);
    expect(error.message).toBe(`${path}: cannot open for reading (ENOENT)`);
    expect(PtqError.isInstance(error)).toBe(true);
  });

  it('a folder is not a safetensors file', async () => {
    const error = await openError(folder);
    expect(error).toBeInstanceOf(NotARegularFileError);
    expect(error).toMatchObject({ code: 'PTQ_NOT_A_REGULAR_FILE', file: folder });
    expect(error.message).toBe(`${folder}: is a folder, not a regular file`);
  });

  it('a FIFO is refused at once, not waited on', async () => {
    const fifo = join(folder, 'pipe.safetensors');
    execFileSync('mkfifo', [fifo]);
    const error = await openError(fifo);
    expect(error).toBeInstanceOf(NotARegularFileError);
    expect(error.message).toBe(`${fifo}: is a FIFO, not a regular file`);
  });

  it('a link to /dev/zero is refused, not read without end', async () => {
    const zero = join(folder, 'zero.safetensors');
    await symlink('/dev/zero', zero);
    const error = await openError(zero);
    expect(error).toBeInstanceOf(NotARegularFileError);
    expect(error.message).toBe(`${zero}: is a character device, not a regular file`);
  });
});

describe('SafetensorsFile', () => {
  const header =
    '{"h.0.attn.weight":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},' +
    '"h.1.attn.weight":{"dtype":"U8","shape":[1],"data_offsets":[1,2]},' +
    '"wte.weight":{"dtype":"U8","shape":[1],"data_offsets":[2,3]}}';

  it('names close tensor names when one is missing', async () => {
    const file = await openSafetensors(await rawFile(header, new Uint8Array(3)));
    const error = await file.readTensor('h.0.attn.wieght').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(MissingTensorError);
    expect(error).toMatchObject({
      code: 'PTQ_SAFETENSORS_MISSING_TENSOR',
      tensorName: 'h.0.attn.wieght',
      closeNames: ['h.0.attn.weight', 'h.1.attn.weight'],
    });
    expect((error as Error).message).toMatch(
      /no tensor named "h.0.attn.wieght"; close names: "h.0.attn.weight", "h.1.attn.weight"$/,
    );
    await expect(file.readTensorBytes('transformer.wte.weight')).rejects.toThrow(
      /close names: "wte.weight"$/,
    );
    await expect(file.readTensor('lm_head.bias')).rejects.toThrow(/none of its 3 tensor names is close$/);
    await file.close();
  });

  it('refuses reads after close, and closes twice without complaint', async () => {
    const file = await openSafetensors(await rawFile(header, new Uint8Array(3)));
    await file.close();
    await file.close();
    const error = await file.readTensor('wte.weight').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SafetensorsClosedError);
    expect(error).toMatchObject({ code: 'PTQ_SAFETENSORS_CLOSED' });
  });

  it('closes through Symbol.asyncDispose', async () => {
    const file = await openSafetensors(await rawFile(header, new Uint8Array([9, 8, 7])));
    expect(await file.readTensorBytes('wte.weight')).toEqual(new Uint8Array([7]));
    await file[Symbol.asyncDispose]();
    await expect(file.readTensorBytes('wte.weight')).rejects.toThrow(SafetensorsClosedError);
  });

  it('serves concurrent reads of different tensors', async () => {
    const file = await openSafetensors(await rawFile(header, new Uint8Array([9, 8, 7])));
    const results = await Promise.all([...file.tensors.keys()].map((name) => file.readTensorBytes(name)));
    expect(results).toEqual([new Uint8Array([9]), new Uint8Array([8]), new Uint8Array([7])]);
    await file.close();
  });
});
