import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readExactly } from './file-handle-io';
import { SafetensorsFormatError } from './safetensors-errors';

let folder: string;
let file: string;
// 20 MiB + 3 bytes: read in parts, the last one short and off any 4 KiB boundary.
const length = 20 * 2 ** 20 + 3;
const content = new Uint8Array(length);
for (let index = 0; index < length; index++) content[index] = (index * 131 + (index >>> 12)) & 255;

beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), 'ptq-safetensors-read-'));
  file = join(folder, 'bytes.bin');
  await writeFile(file, content);
});

afterAll(async () => {
  await rm(folder, { recursive: true, force: true });
});

describe('readExactly', () => {
  it('fills a long target, read in parts at once, with exactly the bytes at its offset', async () => {
    const handle = await open(file, 'r');
    try {
      for (const [offset, size] of [
        [0, length],
        [5, 18 * 2 ** 20 - 1],
        [1000, 100],
      ] as const) {
        const target = new Uint8Array(size);
        await readExactly(handle, file, target, offset);
        expect(
          Buffer.from(target).equals(Buffer.from(content.subarray(offset, offset + size))),
          `${offset}`,
        ).toBe(true);
      }
    } finally {
      await handle.close();
    }
  });

  it('names the byte where the file ended when a long read runs past it', async () => {
    const handle = await open(file, 'r');
    try {
      const read = readExactly(handle, file, new Uint8Array(17 * 2 ** 20), length - 2 ** 20);
      await expect(read).rejects.toThrow(SafetensorsFormatError);
      await expect(readExactly(handle, file, new Uint8Array(17 * 2 ** 20), length - 2 ** 20)).rejects.toThrow(
        `file ended at byte ${length} while reading ${17 * 2 ** 20} bytes at offset ${length - 2 ** 20}`,
      );
    } finally {
      await handle.close();
    }
  });
});
