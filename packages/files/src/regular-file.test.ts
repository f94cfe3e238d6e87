import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileTooLargeError, NotARegularFileError } from './file-errors';
import { openRegularFile, readRegularFile } from './regular-file';

let folder: string;
beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), 'ptq-files-'));
});
afterAll(async () => {
  await rm(folder, { recursive: true, force: true });
});

describe('readRegularFile', () => {
  it('reads a regular file whole, through a symbolic link too', async () => {
    const file = join(folder, 'text.txt');
    await writeFile(file, 'hello');
    await symlink(file, join(folder, 'link.txt'));
    expect((await readRegularFile(file, { maxBytes: 5 })).toString()).toBe('hello');
    expect((await readRegularFile(join(folder, 'link.txt'), { maxBytes: 5 })).toString()).toBe('hello');
  });

  it('refuses a file over the cap, naming size and cap', async () => {
    const file = join(folder, 'big.txt');
    await writeFile(file, 'x'.repeat(11));
    await expect(readRegularFile(file, { maxBytes: 10, what: 'a dataset file' })).rejects.toThrow(
      `${file}: is 11 bytes; a dataset file may be at most 10 bytes`,
    );
    await expect(readRegularFile(file, { maxBytes: 10 })).rejects.toBeInstanceOf(FileTooLargeError);
  });

  it('refuses a FIFO without blocking on it', async () => {
    const fifo = join(folder, 'pipe');
    execFileSync('mkfifo', [fifo]);
    await expect(readRegularFile(fifo, { maxBytes: 100 })).rejects.toThrow(
      `${fifo}: is a FIFO, not a regular file`,
    );
  });

  it('refuses a link to /dev/zero and a folder', async () => {
    const zero = join(folder, 'zero');
    await symlink('/dev/zero', zero);
    await expect(openRegularFile(zero, { maxBytes: 100 })).rejects.toThrow(
      /is a character device, not a regular file/,
    );
    await expect(readRegularFile(folder, { maxBytes: 100 })).rejects.toBeInstanceOf(NotARegularFileError);
  });
});
