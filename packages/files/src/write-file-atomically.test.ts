import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PtqError } from '@ptq/errors';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileWriteError } from './file-errors';
import { removeTemporaryOutputs, temporaryNamePid } from './temporary-outputs';
import { writeFileAtomically } from './write-file-atomically';

let folder: string;

beforeEach(async () => {
  folder = await mkdtemp(join(tmpdir(), 'ptq-atomic-'));
});

afterEach(async () => {
  await rm(folder, { recursive: true, force: true });
});

const encoder = new TextEncoder();

describe('writeFileAtomically', () => {
  it('writes the whole file under a hidden temporary name carrying the pid, then renames it', async () => {
    const target = join(folder, 'model.bin');
    let seen: string[] = [];
    await writeFileAtomically(target, async (handle) => {
      seen = await readdir(folder);
      await handle.write(encoder.encode('hello '));
      await handle.write(encoder.encode('world'));
    });
    expect(await readFile(target, 'utf8')).toBe('hello world');
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatch(/^\.model\.bin\.tmp-\d+-[0-9a-f]{8}$/);
    expect(temporaryNamePid(seen[0]!)).toBe(process.pid);
    expect(await readdir(folder)).toEqual(['model.bin']);
  });

  it('leaves no temporary file and the old content on any failure midway', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 256 }),
        fc.uint8Array({ minLength: 1, maxLength: 256 }),
        fc.nat(),
        async (old, fresh, cut) => {
          const target = join(folder, 'out.bin');
          await writeFile(target, old);
          const failure = new Error('disk full');
          const attempt = writeFileAtomically(target, async (handle) => {
            await handle.write(fresh.subarray(0, cut % fresh.length));
            throw failure;
          });
          const error = await attempt.catch((caught: unknown) => caught);
          expect(error).toBeInstanceOf(FileWriteError);
          expect((error as FileWriteError).cause).toBe(failure);
          expect((error as Error).message).toBe(`${target}: cannot write`);
          expect(await readdir(folder)).toEqual(['out.bin']);
          expect(new Uint8Array(await readFile(target))).toEqual(old);
        },
      ),
      { numRuns: 50 },
    );
  });

  it('passes a ptq error from the writer through, and words others through toError', async () => {
    const target = join(folder, 'a.bin');
    const own = new PtqError('PTQ_TEST', 'refused');
    await expect(
      writeFileAtomically(target, async () => {
        throw own;
      }),
    ).rejects.toBe(own);
    const stages: string[] = [];
    await expect(
      writeFileAtomically(join(folder, 'absent', 'a.bin'), async () => {}, {
        toError: (failure) => {
          stages.push(failure.stage);
          return new Error(`custom ${failure.stage}`);
        },
      }),
    ).rejects.toThrow('custom create');
    expect(stages).toEqual(['create']);
    expect(await readdir(folder)).toEqual([]);
  });

  it('names the temporary file it could not create and the system error', async () => {
    const target = join(folder, 'absent', 'model.bin');
    const error = await writeFileAtomically(target, async () => {}).catch((caught: unknown) => caught);
    expect(FileWriteError.isInstance(error)).toBe(true);
    expect((error as FileWriteError).code).toBe('PTQ_FILE_WRITE');
    expect((error as Error).message).toMatch(
      new RegExp(
        `^${target}: cannot create the temporary file \\.model\\.bin\\.tmp-${process.pid}-[0-9a-f]{8} \\(ENOENT\\)$`,
      ),
    );
  });

  it('a target that is a folder fails at the rename and is left as it was', async () => {
    const target = join(folder, 'taken');
    await mkdir(target);
    await writeFile(join(target, 'keep.txt'), 'mine');
    const error = await writeFileAtomically(target, async (handle) => {
      await handle.write(encoder.encode('x'));
    }).catch((caught: unknown) => caught);
    expect((error as Error).message).toMatch(/cannot write \((EISDIR|ENOTEMPTY|EEXIST)\)/);
    expect(await readdir(folder)).toEqual(['taken']);
    expect(await readFile(join(target, 'keep.txt'), 'utf8')).toBe('mine');
  });

  it('is cleaned up by removeTemporaryOutputs (the signal handler) while the write is under way', async () => {
    const target = join(folder, 'slow.bin');
    let during: string[] = [];
    const attempt = writeFileAtomically(target, async (handle) => {
      await handle.write(encoder.encode('partial'));
      // What a SIGINT handler does just before the process exits.
      removeTemporaryOutputs();
      during = await readdir(folder);
      throw new Error('interrupted');
    });
    await expect(attempt).rejects.toThrow(FileWriteError);
    expect(during).toEqual([]);
    expect(await readdir(folder)).toEqual([]);
  });

  it('unregisters its cleanup once done, so a later signal touches nothing', async () => {
    const target = join(folder, 'done.bin');
    await writeFileAtomically(target, async (handle) => {
      await handle.write(encoder.encode('kept'));
    });
    removeTemporaryOutputs();
    expect(await readFile(target, 'utf8')).toBe('kept');
  });
});
