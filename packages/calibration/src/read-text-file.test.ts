import { mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FileFormatError } from '@ptq/errors';
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

async function file(content: string): Promise<string> {
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
