import { appendFile, mkdtemp, readFile, rename, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTensor, type Tensor, tensorBytes } from '@ptq/tensor';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSafetensorsCheckpoint } from './open-safetensors-checkpoint';
import { onDemandTensorReader } from './read-tensors-on-demand';
import { SafetensorsChangedError, SafetensorsFormatError } from './safetensors-errors';
import { writeShardedSafetensors } from './write-sharded-safetensors';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'ptq-safetensors-on-demand-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const TENSORS: Record<string, Tensor> = {
  'a.weight': createTensor('float32', [2, 2], new Float32Array([1.5, -2, 3.25, 4])),
  'b.weight': createTensor('bfloat16', [3], new Uint16Array([0x3f80, 0x4000, 0xc040])),
  'c.weight': createTensor('int8', [5], new Int8Array([-128, -1, 0, 1, 127])),
};

async function sharded(name: string): Promise<string> {
  const folder = join(root, name);
  // 16 bytes a shard: two shards.
  await writeShardedSafetensors(folder, TENSORS, { maxShardBytes: 16 });
  return folder;
}

function read(reader: ReturnType<typeof onDemandTensorReader>, info: Parameters<typeof reader.readInto>[0]) {
  const bytes = new Uint8Array(info.byteLength);
  reader.readInto(info, bytes);
  return bytes;
}

describe('onDemandTensorReader', () => {
  it('reads every tensor of a sharded checkpoint, also after the checkpoint is closed', async () => {
    const checkpoint = await openSafetensorsCheckpoint(await sharded('read'));
    expect(new Set([...checkpoint.tensors.values()].map((info) => info.file)).size).toBe(2);
    const reader = onDemandTensorReader(checkpoint);
    const infos = checkpoint.tensors;
    await checkpoint.close();
    for (const [name, tensor] of Object.entries(TENSORS)) {
      expect(read(reader, infos.get(name)!)).toEqual(tensorBytes(tensor));
    }
  });

  it('refuses a target of another length', async () => {
    const checkpoint = await openSafetensorsCheckpoint(await sharded('length'));
    const reader = onDemandTensorReader(checkpoint);
    const info = checkpoint.tensors.get('a.weight')!;
    await checkpoint.close();
    expect(() => reader.readInto(info, new Uint8Array(15))).toThrow(SafetensorsFormatError);
  });

  it('throws SafetensorsChangedError once a shard grows, is touched, or is replaced', async () => {
    const folder = await sharded('changed');
    const checkpoint = await openSafetensorsCheckpoint(folder);
    const reader = onDemandTensorReader(checkpoint);
    const infos = checkpoint.tensors;
    await checkpoint.close();
    const [a, b, c] = ['a.weight', 'b.weight', 'c.weight'].map((name) => infos.get(name)!);

    await appendFile(a!.file, new Uint8Array(1));
    expect(() => read(reader, a!)).toThrow(SafetensorsChangedError);
    expect(() => read(reader, a!)).toThrow(
      /changed while ptq was reading weights from it \(\d+ bytes when opened/,
    );

    await utimes(b!.file, new Date(2001, 1, 1), new Date(2001, 1, 1));
    expect(() => read(reader, b!)).toThrow(/modification time moved/);

    // Same bytes under a new inode: another file now has the name.
    const copy = `${c!.file}.copy`;
    await writeFile(copy, await readFile(c!.file));
    await rename(copy, c!.file);
    const error = (() => {
      try {
        read(reader, c!);
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(SafetensorsChangedError);
    expect((error as SafetensorsChangedError).code).toBe('PTQ_SAFETENSORS_CHANGED');
    expect((error as SafetensorsChangedError).file).toBe(c!.file);
  });
});
