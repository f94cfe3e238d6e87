import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { temporaryFolder } from './__fixtures__/quantized-default-model';
import { ExportTargetExistsError } from './errors';
import { writeDirectoryAtomically } from './write-directory-atomically';

describe('writeDirectoryAtomically', () => {
  it('creates the folder (and its parents) with what the callback wrote', async () => {
    const parent = await temporaryFolder();
    const target = join(parent, 'a', 'b');
    await writeDirectoryAtomically(target, {}, async (temporary) => {
      expect(temporary).not.toBe(target);
      await writeFile(join(temporary, 'x.txt'), 'x');
    });
    expect((await readdir(target)).sort()).toEqual(['ptq-manifest.json', 'x.txt']);
    expect(await readdir(join(parent, 'a'))).toEqual(['b']);
  });

  it('shows nothing at the target while the callback runs, and removes everything when it throws', async () => {
    const parent = await temporaryFolder();
    const target = join(parent, 'out');
    await expect(
      writeDirectoryAtomically(target, {}, async (temporary) => {
        await writeFile(join(temporary, 'first.bin'), new Uint8Array(10));
        expect(await readdir(parent)).not.toContain('out');
        throw new Error('disk full');
      }),
    ).rejects.toThrow('disk full');
    expect(await readdir(parent)).toEqual([]);
  });

  it('refuses a non-empty folder without overwrite, before calling back', async () => {
    const parent = await temporaryFolder();
    const target = join(parent, 'out');
    await mkdir(target);
    await writeFile(join(target, 'keep'), 'k');
    let called = false;
    await expect(
      writeDirectoryAtomically(target, {}, async () => {
        called = true;
      }),
    ).rejects.toThrow(ExportTargetExistsError);
    expect(called).toBe(false);
    expect(await readFile(join(target, 'keep'), 'utf8')).toBe('k');
  });

  it('keeps the old folder when the callback fails during an overwrite', async () => {
    const parent = await temporaryFolder();
    const target = join(parent, 'out');
    await writeDirectoryAtomically(target, {}, async (temporary) => {
      await writeFile(join(temporary, 'keep'), 'k');
    });
    await expect(
      writeDirectoryAtomically(target, { overwrite: true }, async () => {
        throw new Error('failed');
      }),
    ).rejects.toThrow('failed');
    expect(await readdir(parent)).toEqual(['out']);
    expect((await readdir(target)).sort()).toEqual(['keep', 'ptq-manifest.json']);
  });

  it('refuses a folder that appears while writing, unless overwriting', async () => {
    const parent = await temporaryFolder();
    const target = join(parent, 'out');
    await expect(
      writeDirectoryAtomically(target, {}, async (temporary) => {
        await writeFile(join(temporary, 'new'), 'n');
        await mkdir(target);
        await writeFile(join(target, 'theirs'), 't');
      }),
    ).rejects.toThrow(ExportTargetExistsError);
    expect(await readdir(parent)).toEqual(['out']);
    expect(await readdir(target)).toEqual(['theirs']);
  });
});
