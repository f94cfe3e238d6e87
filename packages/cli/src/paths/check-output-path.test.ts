import { chmod, mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { OutputPathError } from '../cli-errors';
import { temporaryFolder } from '../test-support/temporary-folder';
import { checkOutputPath } from './check-output-path';

describe('checkOutputPath', () => {
  test('a new folder in an existing folder is fine, and the check leaves nothing behind', async () => {
    const folder = await temporaryFolder();
    const out = path.join(folder, 'model');
    expect(await checkOutputPath(out, { force: false })).toEqual({ path: out, exists: false });
    expect(await readdir(folder)).toEqual([]);
  });

  test('a relative path is made absolute', async () => {
    const result = await checkOutputPath('ptq-never-created-folder', { force: false });
    expect(result.path).toBe(path.resolve('ptq-never-created-folder'));
  });

  test('an existing folder needs force', async () => {
    const folder = await temporaryFolder();
    const out = path.join(folder, 'model');
    await mkdir(out);
    await expect(checkOutputPath(out, { force: false })).rejects.toThrow(
      new OutputPathError(out, 'already exists; pass --force to replace it'),
    );
    expect(await checkOutputPath(out, { force: true })).toEqual({ path: out, exists: true });
  });

  test('an existing file is never replaced, even with force', async () => {
    const folder = await temporaryFolder();
    const out = path.join(folder, 'model');
    await writeFile(out, 'precious');
    await expect(checkOutputPath(out, { force: true })).rejects.toThrow(
      new OutputPathError(out, 'exists and is not a folder; choose another path'),
    );
  });

  test.skipIf(process.getuid?.() === 0)('a parent without write permission', async () => {
    const folder = await temporaryFolder();
    const parent = path.join(folder, 'locked');
    await mkdir(parent);
    await chmod(parent, 0o500);
    try {
      await expect(checkOutputPath(path.join(parent, 'model'), { force: false })).rejects.toThrow(
        /is not writable \(EACCES\)/,
      );
    } finally {
      await chmod(parent, 0o700);
    }
  });
});

test('messages name paths the way --out was written', async () => {
  await expect(
    checkOutputPath(path.join('no-such-parent-folder', 'model'), { force: false }),
  ).rejects.toThrow(
    new OutputPathError(
      path.join('no-such-parent-folder', 'model'),
      'its parent folder no-such-parent-folder does not exist',
    ),
  );
});
