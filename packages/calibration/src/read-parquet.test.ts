import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NotARegularFileError, TextEncodingError } from '@ptq/files';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DatasetFieldError, ParquetFormatError } from './calibration-errors';
import { readParquet } from './read-parquet';
import {
  bundledArticles,
  bundledWikitextLines,
  CNN_PARQUET,
  HAS_CNN_PARQUET,
  HAS_WIKITEXT_PARQUET,
  WIKITEXT_PARQUET,
} from './test-support/fixtures';
import { type WriteParquetOptions, writeParquet } from './test-support/write-parquet';

let folder: string;

beforeEach(async () => {
  folder = await mkdtemp(join(tmpdir(), 'ptq-parquet-'));
});

afterEach(async () => {
  await rm(folder, { recursive: true, force: true });
});

async function parquet(options: WriteParquetOptions): Promise<string> {
  const path = join(folder, 'data.parquet');
  await writeFile(path, writeParquet(options));
  return path;
}

describe('readParquet on pyarrow files', () => {
  it.skipIf(!HAS_CNN_PARQUET)(
    'reads the article column: the same 12 articles as the bundled JSONL',
    async () => {
      const { texts, field } = await readParquet(CNN_PARQUET);
      expect(field).toBe('article');
      expect(texts).toEqual(bundledArticles().slice(0, 12));
    },
  );

  it.skipIf(!HAS_CNN_PARQUET)('stops inside the second row group at the limit', async () => {
    expect((await readParquet(CNN_PARQUET, { limit: 7 })).texts).toEqual(bundledArticles().slice(0, 7));
  });

  it.skipIf(!HAS_CNN_PARQUET)('reads another column on request', async () => {
    const { texts } = await readParquet(CNN_PARQUET, { field: 'id', limit: 2 });
    expect(texts).toEqual([
      'cnn-test-23a0f5d45517620ea12e8af780b2fa1cd9a2373a',
      'cnn-test-2beb3c90dd9c2fe8288f352b6b973b5a0b5dd0dc',
    ]);
  });

  it.skipIf(!HAS_CNN_PARQUET)('lists the columns when the field is missing', async () => {
    const error = await readParquet(CNN_PARQUET, { field: 'text' }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(DatasetFieldError);
    expect((error as Error).message).toBe(
      `${CNN_PARQUET}: has no column "text" (columns: article, highlights, id)`,
    );
  });

  it.skipIf(!HAS_WIKITEXT_PARQUET)(
    'reads zstd wikitext rows, blank rows skipped, as the raw file has them',
    async () => {
      const { texts, field } = await readParquet(WIKITEXT_PARQUET);
      expect(field).toBe('text');
      expect(texts.length).toBeGreaterThan(10);
      expect(texts).toEqual(bundledWikitextLines().slice(0, texts.length));
    },
  );
});

describe('readParquet on written files', () => {
  it('prefers "text" over "article", and skips nulls and blank values', async () => {
    const path = await parquet({
      columns: [
        { name: 'article', type: 'string' },
        { name: 'text', type: 'string' },
      ],
      rows: [
        { article: 'a0', text: 't0' },
        { article: 'a1', text: null },
        { article: 'a2', text: ' \n' },
        { article: 'a3', text: 't3' },
      ],
    });
    expect(await readParquet(path)).toEqual({ texts: ['t0', 't3'], field: 'text' });
  });

  it('accepts strings without a UTF8 annotation, as older writers store them', async () => {
    const path = await parquet({
      columns: [{ name: 'text', type: 'binary' }],
      rows: [{ text: 'plain bytes' }],
    });
    expect((await readParquet(path)).texts).toEqual(['plain bytes']);
  });

  it('refuses a column that is not text', async () => {
    const path = await parquet({ columns: [{ name: 'text', type: 'int64' }], rows: [{ text: 1n }] });
    await expect(readParquet(path)).rejects.toThrow(`${path}: column "text" is INT64, not text`);
  });

  it('asks for options.field when there is neither "text" nor "article"', async () => {
    const path = await parquet({ columns: [{ name: 'body', type: 'string' }], rows: [{ body: 'x' }] });
    await expect(readParquet(path)).rejects.toThrow(
      `${path}: has neither a "text" nor an "article" column (columns: body); pass options.field`,
    );
  });

  it('gives no texts for a file without rows', async () => {
    const path = await parquet({ columns: [{ name: 'text', type: 'string' }], rows: [] });
    expect((await readParquet(path)).texts).toEqual([]);
  });

  it('throws ParquetFormatError for a file that is not parquet', async () => {
    const path = join(folder, 'fake.parquet');
    await writeFile(path, 'this is not a parquet file at all');
    const error = await readParquet(path).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ParquetFormatError);
    expect(error).toMatchObject({ code: 'PTQ_PARQUET_FORMAT', file: path });
  });

  it('throws ParquetFormatError for a truncated page', async () => {
    const bytes = writeParquet({
      columns: [{ name: 'text', type: 'string' }],
      rows: [{ text: 'hello world' }],
    });
    // Corrupt the first value's length prefix (after "PAR1", the page header and the definition levels).
    const corrupted = new Uint8Array(bytes);
    const offset = Buffer.from(bytes).indexOf('hello world') - 4;
    corrupted.set([0xff, 0xff, 0xff, 0x7f], offset);
    const path = join(folder, 'corrupt.parquet');
    await writeFile(path, corrupted);
    await expect(readParquet(path)).rejects.toThrow(ParquetFormatError);
  });

  it('names file, row, column and offset of a string value that is not UTF-8', async () => {
    const latin1 = Uint8Array.from([0x63, 0x61, 0x66, 0xe9]); // "café" in Latin-1
    const path = await parquet({
      columns: [{ name: 'text', type: 'string' }],
      rows: [{ text: 'zero' }, { text: 'one' }, { text: 'two' }, { text: latin1 }],
      rowGroupSize: 2, // row 3 is in the second row group: the row number counts from the file's start
    });
    const error = await readParquet(path).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TextEncodingError);
    expect(error).toMatchObject({
      code: 'PTQ_TEXT_ENCODING',
      file: `${path} [row 3, column "text"]`,
      byteOffset: 3,
    });
    expect((error as Error).message).toMatch(
      /\[row 3, column "text"\]: is not valid utf-8: bad byte sequence at byte offset 3 /,
    );
    // Rows before it are read when the limit stops first; told the encoding, the value reads as meant.
    expect((await readParquet(path, { limit: 3 })).texts).toEqual(['zero', 'one', 'two']);
    expect((await readParquet(path, { encoding: 'latin1' })).texts).toEqual(['zero', 'one', 'two', 'café']);
  });

  it('refuses a FIFO at once, and a link to /dev/zero', async () => {
    const fifo = join(folder, 'pipe.parquet');
    execFileSync('mkfifo', [fifo]);
    await expect(readParquet(fifo)).rejects.toThrow(`${fifo}: is a FIFO, not a regular file`);
    const zero = join(folder, 'zero.parquet');
    await symlink('/dev/zero', zero);
    await expect(readParquet(zero)).rejects.toBeInstanceOf(NotARegularFileError);
  });
});
