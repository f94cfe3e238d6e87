import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, symlink, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileTooLargeError, NotARegularFileError, TextEncodingError } from '@ptq/files';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DatasetTextTooLongError } from './calibration-errors';
import { MAX_DATASET_FILE_BYTES } from './dataset-limits';
import { type ReadLinesOptions, readLines } from './read-lines';

let folder: string;

beforeEach(async () => {
  folder = await mkdtemp(join(tmpdir(), 'ptq-lines-'));
});

afterEach(async () => {
  await rm(folder, { recursive: true, force: true });
});

async function file(bytes: Uint8Array | string, name = 'data.txt'): Promise<string> {
  const path = join(folder, name);
  await writeFile(path, bytes);
  return path;
}

async function lines(path: string, options?: ReadLinesOptions): Promise<string[]> {
  const texts: string[] = [];
  for await (const line of readLines(path, options)) texts.push(line.text);
  return texts;
}

/** UTF-16LE bytes of `text`, built code unit by code unit (not through the decoder under test). */
function utf16le(text: string): Uint8Array {
  const bytes = new Uint8Array(text.length * 2);
  for (let index = 0; index < text.length; index++) {
    const unit = text.charCodeAt(index);
    bytes[2 * index] = unit & 0xff;
    bytes[2 * index + 1] = unit >> 8;
  }
  return bytes;
}

describe('readLines', () => {
  it('splits at \\n, drops a \\r before it and the leading byte-order mark, keeps a later U+FEFF', async () => {
    const path = await file('\uFEFFone\r\ntwo\n\n\uFEFFthree\rstill three\nlast');
    expect(await lines(path)).toEqual(['one', 'two', '', '\uFEFFthree\rstill three', 'last']);
    expect(await lines(await file('a\n', 'ending.txt'))).toEqual(['a']);
    expect(await lines(await file('', 'empty.txt'))).toEqual([]);
  });

  it('gives what a whole-string split gives, for every encoding (property)', async () => {
    const encoders = {
      'utf-8': (text: string) => new TextEncoder().encode(text),
      latin1: (text: string) => Uint8Array.from(text, (character) => character.charCodeAt(0)),
      'utf-16le': utf16le,
    } as const;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('utf-8', 'latin1', 'utf-16le'),
        fc.array(fc.string({ unit: fc.constantFrom('a', ' ', 'é', '\r', 'ÿ', 'Ā', '\u0a0d', '\u0d0a') }), {
          maxLength: 8,
        }),
        async (encoding, parts) => {
          // Latin-1 as WHATWG decodes it is windows-1252; these characters are the same in both.
          const content = parts
            .filter((part) => encoding !== 'latin1' || !/[\u0100-\uffff]/.test(part))
            .join('\n');
          const path = await file(encoders[encoding](content));
          const expected = content === '' ? [] : content.replace(/\n$/, '').split('\n');
          expect(await lines(path, { encoding })).toEqual(expected.map((line) => line.replace(/\r$/, '')));
        },
      ),
      { numRuns: 150 },
    );
  });

  it('reads UTF-16LE lines that cross 1 MiB read boundaries', async () => {
    // Lines of 999 characters: their breaks fall at every alignment relative to the 1 MiB reads.
    const expected = Array.from({ length: 1200 }, (_, index) => `${index}`.padEnd(999, 'ü'));
    const path = await file(utf16le(`\uFEFF${expected.join('\r\n')}\r\n`));
    expect(await lines(path, { encoding: 'utf-16le' })).toEqual(expected);
  });

  it('names line and file offset of the first invalid UTF-8 byte', async () => {
    const bytes = Buffer.concat([
      Buffer.from('fine\nalso fine\ncaf'),
      Buffer.from([0xe9]),
      Buffer.from(' au lait\n'),
    ]);
    const path = await file(bytes);
    const error = await lines(path).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TextEncodingError);
    expect(error).toMatchObject({
      code: 'PTQ_TEXT_ENCODING',
      file: `${path}:3`,
      byteOffset: bytes.indexOf(0xe9),
    });
    expect((error as Error).message).toMatch(
      new RegExp(`^${path}:3: is not valid utf-8: bad byte sequence at byte offset 18 `),
    );
  });

  it('refuses a line longer than the cap, naming its number and the cap', async () => {
    const path = await file(`short\n${'x'.repeat(40)}\nnever reached`);
    const error = await lines(path, { maxLineBytes: 39 }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(DatasetTextTooLongError);
    expect((error as Error).message).toBe(
      `${path}:2: line 2 is longer than the 39 bytes one calibration text may have`,
    );
    // Exactly at the cap is fine, with or without a \r.
    expect(
      await lines(await file(`${'x'.repeat(39)}\r\nend`, 'crlf.txt'), { maxLineBytes: 39 }),
    ).toHaveLength(2);
  });

  it('refuses a line over the cap that spans many reads without holding it', async () => {
    const path = join(folder, 'no-breaks.txt');
    await writeFile(path, '');
    await truncate(path, 3 * 1024 * 1024); // sparse zeros, no line break
    await expect(lines(path, { maxLineBytes: 1024 * 1024 })).rejects.toThrow(
      `${path}:1: line 1 is longer than the 1048576 bytes`,
    );
  });

  it('refuses a FIFO at once, and a link to /dev/zero', async () => {
    const fifo = join(folder, 'pipe.txt');
    execFileSync('mkfifo', [fifo]);
    await expect(lines(fifo)).rejects.toThrow(`${fifo}: is a FIFO, not a regular file`);
    const zero = join(folder, 'zero.txt');
    await symlink('/dev/zero', zero);
    await expect(lines(zero)).rejects.toThrow(NotARegularFileError);
  });

  it('refuses a file over the streamed-file cap, naming it', async () => {
    const path = join(folder, 'huge.jsonl');
    await writeFile(path, '');
    await truncate(path, MAX_DATASET_FILE_BYTES + 1); // sparse: no real disk use
    const error = await lines(path).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(FileTooLargeError);
    expect((error as Error).message).toBe(
      `${path}: is ${MAX_DATASET_FILE_BYTES + 1} bytes; a streamed dataset file may be at most ${MAX_DATASET_FILE_BYTES} bytes`,
    );
  });
});
