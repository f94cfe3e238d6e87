import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidArgumentError } from '@ptq/errors';
import { NotARegularFileError, TextEncodingError } from '@ptq/files';
import { createTensor, type Tensor, tensorBytes } from '@ptq/tensor';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAFETENSORS_INDEX_FILE, shardFileName } from './checkpoint-file-names';
import { MAX_INDEX_LENGTH, openSafetensorsCheckpoint } from './open-safetensors-checkpoint';
import {
  MissingTensorError,
  SafetensorsClosedError,
  SafetensorsFormatError,
  SafetensorsIoError,
} from './safetensors-errors';
import { writeSafetensors } from './write-safetensors';
import { writeShardedSafetensors } from './write-sharded-safetensors';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'ptq-safetensors-checkpoint-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

let folderCount = 0;
async function newFolder(): Promise<string> {
  const folder = join(root, `checkpoint-${folderCount++}`);
  await mkdir(folder);
  return folder;
}

function float32(...values: number[]): Tensor {
  return createTensor('float32', [values.length], new Float32Array(values));
}

// 16 + 8 + 12 + 4 + 2 bytes, in name order.
const TENSORS: Record<string, Tensor> = {
  'h.0.attn.weight': float32(1, 2, 3, 4),
  'h.0.mlp.weight': float32(5, 6),
  'h.1.attn.weight': createTensor('int32', [3], new Int32Array([7, 8, 9])),
  'ln_f.weight': createTensor('bfloat16', [2], new Uint16Array([0x3f80, 0x4000])),
  'wte.weight': createTensor('int8', [2], new Int8Array([-1, 1])),
};

describe('writeShardedSafetensors', () => {
  it('fills shards in name order up to maxShardBytes and writes the index', async () => {
    const folder = join(await newFolder(), 'created');
    const result = await writeShardedSafetensors(folder, TENSORS, {
      maxShardBytes: 24,
      metadata: { format: 'pt' },
    });
    // 16+8 = 24 fits; 12+4+2 = 18 fits the second.
    expect(result).toEqual({
      indexPath: join(folder, SAFETENSORS_INDEX_FILE),
      shardPaths: [
        join(folder, 'model-00001-of-00002.safetensors'),
        join(folder, 'model-00002-of-00002.safetensors'),
      ],
      totalSize: 42,
    });
    expect((await readdir(folder)).sort()).toEqual([
      'model-00001-of-00002.safetensors',
      'model-00002-of-00002.safetensors',
      'model.safetensors.index.json',
    ]);
    expect(JSON.parse(await readFile(result.indexPath, 'utf8'))).toEqual({
      metadata: { total_size: 42 },
      weight_map: {
        'h.0.attn.weight': 'model-00001-of-00002.safetensors',
        'h.0.mlp.weight': 'model-00001-of-00002.safetensors',
        'h.1.attn.weight': 'model-00002-of-00002.safetensors',
        'ln_f.weight': 'model-00002-of-00002.safetensors',
        'wte.weight': 'model-00002-of-00002.safetensors',
      },
    });

    const checkpoint = await openSafetensorsCheckpoint(folder);
    expect(checkpoint.path).toBe(result.indexPath);
    expect(checkpoint.metadata).toEqual({ total_size: 42 });
    expect(checkpoint.files.map((file) => file.metadata)).toEqual([{ format: 'pt' }, { format: 'pt' }]);
    expect(checkpoint.tensors.get('ln_f.weight')?.file).toBe(result.shardPaths[1]);
    for (const [name, tensor] of Object.entries(TENSORS)) {
      expect(await checkpoint.readTensor(name)).toEqual(tensor);
      expect(await checkpoint.readTensorBytes(name)).toEqual(tensorBytes(tensor));
    }
    await checkpoint.close();
  });

  it('gives a tensor larger than maxShardBytes a shard of its own', async () => {
    const folder = await newFolder();
    const result = await writeShardedSafetensors(folder, TENSORS, { maxShardBytes: 10 });
    expect(result.shardPaths.map((path) => path.slice(folder.length + 1))).toEqual([
      shardFileName(1, 4),
      shardFileName(2, 4),
      shardFileName(3, 4),
      shardFileName(4, 4),
    ]);
    const checkpoint = await openSafetensorsCheckpoint(result.indexPath);
    expect(checkpoint.files.map((file) => [...file.tensors.keys()])).toEqual([
      ['h.0.attn.weight'],
      ['h.0.mlp.weight'],
      ['h.1.attn.weight'],
      ['ln_f.weight', 'wte.weight'],
    ]);
    await checkpoint.close();
  });

  it('round trips any split of any tensors', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc
          .uniqueArray(
            fc.tuple(
              fc.string({ minLength: 1, maxLength: 6 }),
              fc.array(fc.float({ noNaN: true }), { maxLength: 6 }),
            ),
            {
              maxLength: 8,
              selector: ([name]) => name,
            },
          )
          .filter((entries) => entries.every(([name]) => name !== '__metadata__')),
        fc.integer({ min: 1, max: 40 }),
        async (entries, maxShardBytes) => {
          const folder = await newFolder();
          const tensors = new Map(entries.map(([name, values]) => [name, float32(...values)]));
          const result = await writeShardedSafetensors(folder, tensors, { maxShardBytes });
          const checkpoint = await openSafetensorsCheckpoint(folder);
          expect(new Set(checkpoint.tensors.keys())).toEqual(new Set(tensors.keys()));
          for (const [name, tensor] of tensors) {
            expect(await checkpoint.readTensor(name)).toEqual(tensor);
          }
          for (const file of checkpoint.files) {
            const bytes = [...file.tensors.values()].reduce((sum, info) => sum + info.byteLength, 0);
            expect(bytes <= maxShardBytes || file.tensors.size === 1).toBe(true);
          }
          expect(result.totalSize).toBe(
            [...tensors.values()].reduce((sum, tensor) => sum + tensor.data.byteLength, 0),
          );
          await checkpoint.close();
        },
      ),
      { numRuns: 25 },
    );
  });

  it.each([0, -1, 1.5, Number.NaN])('refuses maxShardBytes %s', async (maxShardBytes) => {
    const folder = await newFolder();
    await expect(writeShardedSafetensors(folder, TENSORS, { maxShardBytes })).rejects.toThrow(
      InvalidArgumentError,
    );
    expect(await readdir(folder)).toEqual([]);
  });
});

describe('openSafetensorsCheckpoint finds the checkpoint', () => {
  it('prefers model.safetensors over an index in the same folder', async () => {
    const folder = await newFolder();
    await writeShardedSafetensors(folder, { sharded: float32(1) });
    await writeSafetensors(
      join(folder, 'model.safetensors'),
      { single: float32(2) },
      { metadata: { format: 'pt' } },
    );
    const checkpoint = await openSafetensorsCheckpoint(folder);
    expect(checkpoint.path).toBe(join(folder, 'model.safetensors'));
    expect(checkpoint.metadata).toEqual({ format: 'pt' });
    expect([...checkpoint.tensors.keys()]).toEqual(['single']);
    expect(await checkpoint.readTensor('single')).toEqual(float32(2));
    await checkpoint[Symbol.asyncDispose]();
  });

  it('opens a safetensors file or an index JSON given directly', async () => {
    const folder = await newFolder();
    const { indexPath } = await writeShardedSafetensors(folder, { sharded: float32(1) });
    const filePath = join(folder, 'other.safetensors');
    await writeSafetensors(filePath, { single: float32(2) });
    const fromIndex = await openSafetensorsCheckpoint(indexPath);
    expect([...fromIndex.tensors.keys()]).toEqual(['sharded']);
    await fromIndex.close();
    const fromFile = await openSafetensorsCheckpoint(filePath);
    expect(fromFile.tensors.get('single')).toMatchObject({ dtype: 'F32', shape: [1], file: filePath });
    await fromFile.close();
  });

  it('a folder with neither is an I/O error', async () => {
    const folder = await newFolder();
    await expect(openSafetensorsCheckpoint(folder)).rejects.toThrow(
      new SafetensorsIoError(
        folder,
        'holds neither model.safetensors nor model.safetensors.index.json, so it is not a safetensors checkpoint',
      ),
    );
  });

  it('a missing path is an I/O error', async () => {
    const path = join(root, 'absent');
    const error = await openSafetensorsCheckpoint(path).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SafetensorsIoError);
    expect((error as Error).message).toBe(`${path}: does not exist`);
  });
});

describe('SafetensorsCheckpoint', () => {
  it('names close tensors across shards and closes every shard', async () => {
    const folder = await newFolder();
    await writeShardedSafetensors(folder, TENSORS, { maxShardBytes: 24 });
    const checkpoint = await openSafetensorsCheckpoint(folder);
    const error = await checkpoint
      .readTensor('transformer.h.1.attn.weight')
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(MissingTensorError);
    expect((error as Error).message).toBe(
      `${join(folder, SAFETENSORS_INDEX_FILE)}: no tensor named "transformer.h.1.attn.weight"; close names: "h.1.attn.weight", "h.0.attn.weight"`,
    );
    await checkpoint.close();
    await expect(checkpoint.readTensor('wte.weight')).rejects.toThrow(SafetensorsClosedError);
    await expect(checkpoint.readTensor('h.0.attn.weight')).rejects.toThrow(SafetensorsClosedError);
  });
});

describe('openSafetensorsCheckpoint rejects a bad sharded checkpoint', () => {
  /** A folder with shards `a.safetensors` {x, y} and `b.safetensors` {z}, and the given index. */
  async function shardedFolder(index: unknown): Promise<string> {
    const folder = await newFolder();
    await writeSafetensors(join(folder, 'a.safetensors'), { x: float32(1), y: float32(2) });
    await writeSafetensors(join(folder, 'b.safetensors'), { z: float32(3) });
    await writeFile(
      join(folder, SAFETENSORS_INDEX_FILE),
      typeof index === 'string' ? index : JSON.stringify(index),
    );
    return folder;
  }

  async function expectIndexError(index: unknown, message: RegExp): Promise<void> {
    const folder = await shardedFolder(index);
    const indexPath = join(folder, SAFETENSORS_INDEX_FILE);
    const error = await openSafetensorsCheckpoint(folder).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SafetensorsFormatError);
    expect(error).toMatchObject({ code: 'PTQ_SAFETENSORS_FORMAT', file: indexPath });
    expect((error as Error).message).toMatch(message);
  }

  it('accepts the valid layout, keeping index metadata as JSON', async () => {
    const folder = await shardedFolder({
      metadata: { total_size: 12, note: 'x' },
      weight_map: { x: 'a.safetensors', y: 'a.safetensors', z: 'b.safetensors' },
    });
    const checkpoint = await openSafetensorsCheckpoint(folder);
    expect(checkpoint.metadata).toEqual({ total_size: 12, note: 'x' });
    expect(await checkpoint.readTensor('z')).toEqual(float32(3));
    await checkpoint.close();
  });

  it('opens a shard once when the index spells its name two ways', async () => {
    const folder = await shardedFolder({
      weight_map: { x: 'a.safetensors', y: './a.safetensors', z: 'b.safetensors' },
    });
    const checkpoint = await openSafetensorsCheckpoint(folder);
    expect(checkpoint.files).toHaveLength(2);
    expect(await checkpoint.readTensor('y')).toEqual(float32(2));
    await checkpoint.close();
  });

  it('accepts a shard in a subfolder and an index without metadata', async () => {
    const folder = await newFolder();
    await mkdir(join(folder, 'shards'));
    await writeSafetensors(join(folder, 'shards', 'a.safetensors'), { x: float32(1) });
    await writeFile(
      join(folder, SAFETENSORS_INDEX_FILE),
      JSON.stringify({ weight_map: { x: 'shards/a.safetensors' } }),
    );
    const checkpoint = await openSafetensorsCheckpoint(folder);
    expect(checkpoint.metadata).toEqual({});
    expect(await checkpoint.readTensor('x')).toEqual(float32(1));
    await checkpoint.close();
  });

  it.each([
    ['invalid JSON', '{"weight_map": {', /index is not valid JSON/],
    ['a JSON array', '[]', /index must be a JSON object with a weight_map/],
    ['no weight_map', { metadata: {} }, /index weight_map must be an object of tensor name → shard file/],
    ['metadata that is not an object', { metadata: 3, weight_map: {} }, /index metadata must be an object/],
    [
      'a shard name that is not a string',
      { weight_map: { x: 1 } },
      /weight_map\["x"\] must be a non-empty shard file name/,
    ],
    [
      'an empty shard name',
      { weight_map: { x: '' } },
      /weight_map\["x"\] must be a non-empty shard file name/,
    ],
    [
      'a missing shard',
      { weight_map: { x: 'a.safetensors', y: 'a.safetensors', z: 'c.safetensors', w: 'c.safetensors' } },
      /weight_map maps "z" and 1 more to "c.safetensors", which cannot be opened: .*c\.safetensors: cannot open for reading \(ENOENT\)$/,
    ],
    [
      'a tensor missing from its shard',
      { weight_map: { x: 'a.safetensors', y: 'b.safetensors', z: 'b.safetensors' } },
      /weight_map maps "y" to "b.safetensors", which holds no tensor of that name \(it is in "a.safetensors"\)$/,
    ],
    [
      'a tensor a shard holds that the index does not list',
      { weight_map: { x: 'a.safetensors', z: 'b.safetensors' } },
      /: weight_map does not list 1 tensor its shards hold: "y" \(in "a.safetensors"\)$/,
    ],
    [
      'a tensor mapped twice to different shards',
      '{"weight_map":{"x":"a.safetensors","y":"a.safetensors","z":"b.safetensors","x":"b.safetensors"}}',
      /: index\["weight_map"\] holds "x" twice; which entry is meant is ambiguous$/,
    ],
    [
      'weight_map twice',
      '{"weight_map":{"x":"b.safetensors"},"weight_map":{"x":"a.safetensors","y":"a.safetensors","z":"b.safetensors"}}',
      /: index holds "weight_map" twice/,
    ],
    [
      'a tensor that no shard holds',
      { weight_map: { x: 'a.safetensors', w: 'b.safetensors' } },
      /weight_map maps "w" to "b.safetensors", which holds no tensor of that name \(no shard holds it\)$/,
    ],
    [
      'a shard name with ..',
      { weight_map: { x: '../a.safetensors' } },
      /weight_map\["x"\] = "..\/a.safetensors" must name a file inside the checkpoint folder \(no absolute path, no ".."\)/,
    ],
    [
      'a shard name with .. in the middle',
      { weight_map: { x: 'shards/../../a.safetensors' } },
      /must name a file inside the checkpoint folder/,
    ],
    [
      'a shard name with a Windows ..',
      { weight_map: { x: '..\\a.safetensors' } },
      /must name a file inside the checkpoint folder/,
    ],
    [
      'an absolute shard path',
      { weight_map: { x: '/etc/passwd' } },
      /weight_map\["x"\] = "\/etc\/passwd" must name a file inside/,
    ],
    [
      'a Windows absolute shard path',
      { weight_map: { x: 'C:\\a.safetensors' } },
      /must name a file inside the checkpoint folder/,
    ],
    [
      'a shard name that is the folder itself',
      { weight_map: { x: '.' } },
      /must name a file inside the checkpoint folder/,
    ],
  ])('%s', async (_, index, message) => {
    await expectIndexError(index, message);
  });

  it('a tensor stored in two shards, naming both', async () => {
    const folder = await newFolder();
    await writeSafetensors(join(folder, 'a.safetensors'), { x: float32(1) });
    await writeSafetensors(join(folder, 'b.safetensors'), { x: float32(2), y: float32(3) });
    await writeFile(
      join(folder, SAFETENSORS_INDEX_FILE),
      JSON.stringify({ weight_map: { x: 'a.safetensors', y: 'b.safetensors' } }),
    );
    const error = await openSafetensorsCheckpoint(folder).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SafetensorsFormatError);
    expect((error as Error).message).toBe(
      `${join(folder, SAFETENSORS_INDEX_FILE)}: tensor "x" is stored twice, in "a.safetensors" and in "b.safetensors"`,
    );
  });

  it('a tensor in two shards while the index maps it to the second', async () => {
    const folder = await newFolder();
    await writeSafetensors(join(folder, 'a.safetensors'), { x: float32(1), y: float32(3) });
    await writeSafetensors(join(folder, 'b.safetensors'), { x: float32(2) });
    await writeFile(
      join(folder, SAFETENSORS_INDEX_FILE),
      JSON.stringify({ weight_map: { x: 'b.safetensors', y: 'a.safetensors' } }),
    );
    await expect(openSafetensorsCheckpoint(folder)).rejects.toThrow(
      new SafetensorsFormatError(
        join(folder, SAFETENSORS_INDEX_FILE),
        // Shards open in the order the index first names them.
        'tensor "x" is stored twice, in "b.safetensors" and in "a.safetensors"',
      ),
    );
  });

  it('caps the list of tensors the index does not list', async () => {
    const folder = await newFolder();
    const tensors = Object.fromEntries(
      Array.from({ length: 1000 }, (_, index) => [`h.${String(index).padStart(4, '0')}`, float32(index)]),
    );
    await writeSafetensors(join(folder, 'a.safetensors'), tensors);
    await writeFile(
      join(folder, SAFETENSORS_INDEX_FILE),
      JSON.stringify({ weight_map: { 'h.0000': 'a.safetensors' } }),
    );
    const error = await openSafetensorsCheckpoint(folder).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SafetensorsFormatError);
    expect((error as Error).message).toBe(
      `${join(folder, SAFETENSORS_INDEX_FILE)}: weight_map does not list 999 tensors its shards hold: ` +
        '"h.0001" (in "a.safetensors"), "h.0002" (in "a.safetensors"), "h.0003" (in "a.safetensors"), ' +
        '"h.0004" (in "a.safetensors"), "h.0005" (in "a.safetensors") and 994 more',
    );
  });

  it('an index that is not UTF-8', async () => {
    const folder = await shardedFolder('');
    const indexPath = join(folder, SAFETENSORS_INDEX_FILE);
    await writeFile(indexPath, Buffer.from('{"weight_map":{"\xe9":"a.safetensors"}}', 'latin1'));
    const error = await openSafetensorsCheckpoint(folder).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TextEncodingError);
    expect(error).toMatchObject({ file: indexPath, byteOffset: 16 });
  });

  it('a broken shard reports itself', async () => {
    const folder = await shardedFolder({ weight_map: { x: 'a.safetensors', z: 'b.safetensors' } });
    await writeFile(join(folder, 'b.safetensors'), new Uint8Array(3));
    const error = await openSafetensorsCheckpoint(folder).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SafetensorsFormatError);
    expect(error).toMatchObject({ file: join(folder, 'b.safetensors') });
  });

  it('a shard that is a FIFO or a link to /dev/zero, naming the shard', async () => {
    for (const makeSpecial of [
      (path: string) => execFileSync('mkfifo', [path]),
      (path: string) => symlink('/dev/zero', path),
    ]) {
      const folder = await shardedFolder({
        weight_map: { x: 'a.safetensors', y: 'a.safetensors', z: 'b.safetensors' },
      });
      const shard = join(folder, 'b.safetensors');
      await rm(shard);
      await makeSpecial(shard);
      const error = await openSafetensorsCheckpoint(folder).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(NotARegularFileError);
      expect((error as Error).message).toMatch(
        new RegExp(`^${shard}: is a (FIFO|character device), not a regular file$`),
      );
    }
  });

  it('an index over MAX_INDEX_LENGTH', async () => {
    const folder = await newFolder();
    const indexPath = join(folder, SAFETENSORS_INDEX_FILE);
    await writeFile(indexPath, '');
    // Sparse: no real 100 MB are written.
    await truncate(indexPath, MAX_INDEX_LENGTH + 1);
    await expect(openSafetensorsCheckpoint(folder)).rejects.toThrow(
      new SafetensorsFormatError(
        indexPath,
        `index is ${MAX_INDEX_LENGTH + 1} bytes, over the limit of ${MAX_INDEX_LENGTH} (MAX_INDEX_LENGTH)`,
      ),
    );
  });
});

describe('openSafetensorsCheckpoint opens only regular files', () => {
  const specials: [string, (path: string) => unknown, string][] = [
    ['a FIFO', (path) => execFileSync('mkfifo', [path]), 'FIFO'],
    ['a link to /dev/zero', (path) => symlink('/dev/zero', path), 'character device'],
  ];

  it.each(specials)('%s given as the checkpoint', async (_, makeSpecial, kind) => {
    for (const name of ['model.safetensors', 'model.safetensors.index.json']) {
      const path = join(await newFolder(), name);
      await makeSpecial(path);
      const error = await openSafetensorsCheckpoint(path).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(NotARegularFileError);
      expect((error as Error).message).toBe(`${path}: is a ${kind}, not a regular file`);
    }
  });

  it.each(specials)(
    '%s as a folder’s model.safetensors or index is refused by name, not skipped',
    async (_, makeSpecial, kind) => {
      for (const name of ['model.safetensors', 'model.safetensors.index.json']) {
        const folder = await newFolder();
        await makeSpecial(join(folder, name));
        const error = await openSafetensorsCheckpoint(folder).catch((caught: unknown) => caught);
        expect(error).toBeInstanceOf(NotARegularFileError);
        expect((error as Error).message).toBe(`${join(folder, name)}: is a ${kind}, not a regular file`);
      }
    },
  );

  it('a folder’s model.safetensors that is a folder', async () => {
    const folder = await newFolder();
    await mkdir(join(folder, 'model.safetensors'));
    await expect(openSafetensorsCheckpoint(folder)).rejects.toThrow(
      `${join(folder, 'model.safetensors')}: is a folder, not a regular file`,
    );
  });
});
