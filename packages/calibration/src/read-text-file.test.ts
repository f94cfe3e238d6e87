import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, symlink, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FileFormatError } from '@ptq/errors';
import { NotARegularFileError, TextEncodingError } from '@ptq/files';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MAX_WHOLE_FILE_BYTES, readTextFile, wikitextRows } from './read-text-file';

let folder: string;

beforeEach(async () => {
  folder = await mkdtemp(join(tmpdir(), 'ptq-text-'));
});

afterEach(async () => {
  await rm(folder, { recursive: true, force: true });
});

async function file(content: string | Uint8Array): Promise<string> {
  const path = join(folder, `${Math.random().toString(36).slice(2)}.txt`);
  await writeFile(path, content);
  return path;
}

describe('readTextFile', () => {
  const content = '\uFEFFFirst line\r\nsecond line\n   \n\nThird, after a gap\nand its tail\n';

  it('reads the whole file as one text by default (byte-order mark dropped)', async () => {
    expect(await readTextFile(await file(content))).toEqual([content.slice(1)]);
  });

  it('cuts one text per non-blank line, without line endings', async () => {
    expect(await readTextFile(await file(content), { split: 'lines' })).toEqual([
      'First line',
      'second line',
      'Third, after a gap',
      'and its tail',
    ]);
  });

  it('cuts one text per paragraph, separated by blank or whitespace-only lines', async () => {
    expect(await readTextFile(await file(content), { split: 'paragraphs' })).toEqual([
      'First line\nsecond line',
      'Third, after a gap\nand its tail',
    ]);
  });

  it('stops at the limit', async () => {
    const path = await file(content);
    expect(await readTextFile(path, { split: 'lines', limit: 2 })).toEqual(['First line', 'second line']);
    expect(await readTextFile(path, { split: 'paragraphs', limit: 1 })).toEqual(['First line\nsecond line']);
  });

  it('gives no text for an empty or whitespace-only file', async () => {
    expect(await readTextFile(await file(' \n\t\n'))).toEqual([]);
    expect(await readTextFile(await file(''), { split: 'lines' })).toEqual([]);
    expect(await readTextFile(await file('\n\n'), { split: 'paragraphs' })).toEqual([]);
  });

  it('refuses a whole file larger than one text may be, naming the limit', async () => {
    const path = join(folder, 'huge.txt');
    await writeFile(path, '');
    await truncate(path, MAX_WHOLE_FILE_BYTES + 1); // sparse: no real disk use
    const error = await readTextFile(path).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(FileFormatError);
    expect(error).toMatchObject({ code: 'PTQ_TEXT_FILE_SIZE', file: path });
    expect((error as Error).message).toContain(`${MAX_WHOLE_FILE_BYTES + 1} bytes`);
  });

  it('lines mode returns exactly the non-blank lines, in order (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.string({ unit: fc.constantFrom('a', 'b', ' ', '\t', 'é') }), { maxLength: 12 }),
        fc.constantFrom('\n', '\r\n'),
        async (lines, ending) => {
          const path = await file(lines.join(ending));
          expect(await readTextFile(path, { split: 'lines' })).toEqual(
            lines.filter((line) => line.trim() !== ''),
          );
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('readTextFile: only regular files, strictly decoded', () => {
  // "Café crème\nà la carte\n" in Latin-1: é is 0xe9 at byte offset 3.
  const latin1 = Uint8Array.from([
    0x43, 0x61, 0x66, 0xe9, 0x20, 0x63, 0x72, 0xe8, 0x6d, 0x65, 0x0a, 0xe0, 0x20, 0x6c, 0x61, 0x20, 0x63,
    0x61, 0x72, 0x74, 0x65, 0x0a,
  ]);
  // "Hi\n" in UTF-16LE with its byte-order mark, as Windows Notepad writes it.
  const utf16 = Uint8Array.from([0xff, 0xfe, 0x48, 0x00, 0x69, 0x00, 0x0a, 0x00]);

  it.each([
    ['Latin-1', latin1, undefined, 3],
    ['Latin-1, lines', latin1, 'lines', 3],
    ['UTF-16LE', utf16, undefined, 0],
    ['UTF-16LE, paragraphs', utf16, 'paragraphs', 0],
    [
      'binary',
      Uint8Array.from([0x50, 0x4b, 0x03, 0x04, 0x14, 0x00, 0x00, 0x00, 0x08, 0x00, 0x9c]),
      undefined,
      10,
    ],
  ] as const)(
    'refuses %s text read as UTF-8, naming the file and the byte offset',
    async (_, bytes, split, offset) => {
      const path = await file(bytes);
      const error = await readTextFile(path, split === undefined ? {} : { split }).catch(
        (caught: unknown) => caught,
      );
      expect(error).toBeInstanceOf(TextEncodingError);
      expect(error).toMatchObject({ code: 'PTQ_TEXT_ENCODING', byteOffset: offset });
      expect((error as Error).message).toContain(
        `is not valid utf-8: bad byte sequence at byte offset ${offset}`,
      );
      expect((error as FileFormatError).file.startsWith(path)).toBe(true);
    },
  );

  it('reads Latin-1 and UTF-16LE when told the encoding', async () => {
    expect(await readTextFile(await file(latin1), { encoding: 'latin1' })).toEqual([
      'Café crème\nà la carte\n',
    ]);
    expect(await readTextFile(await file(latin1), { encoding: 'latin1', split: 'lines' })).toEqual([
      'Café crème',
      'à la carte',
    ]);
    expect(await readTextFile(await file(utf16), { encoding: 'utf-16le' })).toEqual(['Hi\n']);
    expect(await readTextFile(await file(utf16), { encoding: 'utf-16le', split: 'lines' })).toEqual(['Hi']);
  });

  it('refuses a FIFO at once, in every split, and a link to /dev/zero', async () => {
    const fifo = join(folder, 'pipe.txt');
    execFileSync('mkfifo', [fifo]);
    for (const options of [{}, { split: 'lines' }, { split: 'paragraphs' }] as const) {
      await expect(readTextFile(fifo, options)).rejects.toThrow(`${fifo}: is a FIFO, not a regular file`);
    }
    const zero = join(folder, 'zero.txt');
    await symlink('/dev/zero', zero);
    await expect(readTextFile(zero)).rejects.toThrow(`${zero}: is a character device, not a regular file`);
    await expect(readTextFile(zero, { split: 'lines' })).rejects.toBeInstanceOf(NotARegularFileError);
  });
});

describe('wikitextRows', () => {
  it('gives the 4,358 rows of the bundled test split, blank separators as ""', async () => {
    const raw = await readFile(fileURLToPath(new URL('../data/wiki.test.raw', import.meta.url)), 'utf8');
    const rows = wikitextRows(raw);
    expect(rows).toHaveLength(4358);
    expect(rows.slice(0, 3)).toEqual(['', ' = Robert Boulter = \n', '']);
    // SOURCES.md: 2,891 non-blank lines and 1,467 blank " " lines.
    expect(rows.filter((row) => row === '')).toHaveLength(1467);
    // Every non-blank line is a row, unchanged: only the blank separator lines are gone.
    expect(rows.join('')).toBe(raw.replaceAll(/^ \n/gm, ''));
  });
});
