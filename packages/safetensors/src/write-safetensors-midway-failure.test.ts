import type { FileHandle } from 'node:fs/promises';
import * as fsPromises from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTensor } from '@ptq/tensor';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { SafetensorsIoError } from './safetensors-errors';
import { writeSafetensors } from './write-safetensors';
import { writeShardedSafetensors } from './write-sharded-safetensors';

// The writers get a file handle whose writes can be made to fail, as a full disk would.
vi.mock('node:fs/promises', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs/promises')>();
  return { ...actual, open: vi.fn(actual.open) };
});

const actual = await vi.importActual<typeof import('node:fs/promises')>('node:fs/promises');

/** The next `open` returns a handle whose writes after the first `allowedWrites` fail with ENOSPC. */
function failWritesAfter(allowedWrites: number): { writes: () => number } {
  let writes = 0;
  vi.mocked(fsPromises.open).mockImplementationOnce(async (...parameters) => {
    const handle = await actual.open(...parameters);
    return new Proxy(handle, {
      get(target, property) {
        if (property === 'write') {
          return async (...writeParameters: Parameters<FileHandle['write']>) => {
            writes++;
            if (writes > allowedWrites) {
              throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
            }
            return (target.write as (...values: unknown[]) => unknown)(...writeParameters);
          };
        }
        const value = Reflect.get(target, property, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  });
  return { writes: () => writes };
}

let folder: string;
beforeAll(async () => {
  folder = await actual.mkdtemp(join(tmpdir(), 'ptq-safetensors-midway-'));
});
afterAll(async () => {
  await actual.rm(folder, { recursive: true, force: true });
});

const tensors = {
  a: createTensor('float32', [4], new Float32Array([1, 2, 3, 4])),
  b: createTensor('int8', [2], new Int8Array([1, 2])),
  c: createTensor('uint8', [2], new Uint8Array([3, 4])),
};

describe('a write that fails after bytes reached the disk', () => {
  it('removes the temporary file and keeps the existing target intact', async () => {
    const target = join(folder, 'model.safetensors');
    await actual.writeFile(target, 'original');
    // Header and first tensor go through; the second tensor's write fails.
    const counter = failWritesAfter(2);
    const error = await writeSafetensors(target, tensors).catch((caught: unknown) => caught);
    expect(counter.writes()).toBe(3);
    expect(error).toBeInstanceOf(SafetensorsIoError);
    expect((error as Error).message).toBe(`${target}: cannot write (ENOSPC)`);
    expect((error as Error).cause).toMatchObject({ code: 'ENOSPC' });
    expect(await actual.readdir(folder)).toEqual(['model.safetensors']);
    expect(await actual.readFile(target, 'utf8')).toBe('original');
  });

  it('a sharded write that fails on its second shard writes no index', async () => {
    const shardFolder = join(folder, 'sharded');
    // The first open (shard 1) works; the second (shard 2) fails on its first tensor.
    vi.mocked(fsPromises.open).mockImplementationOnce(actual.open);
    failWritesAfter(1);
    const error = await writeShardedSafetensors(shardFolder, tensors, { maxShardBytes: 16 }).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(SafetensorsIoError);
    expect((error as Error).message).toMatch(/model-00002-of-00002\.safetensors: cannot write \(ENOSPC\)$/);
    expect(await actual.readdir(shardFolder)).toEqual(['model-00001-of-00002.safetensors']);
  });
});
