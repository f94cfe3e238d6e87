import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EmptyDatasetError, UnsupportedDatasetFileError } from './calibration-errors';
import { readDatasetPath } from './read-dataset-path';
import { writeParquet } from './test-support/write-parquet';

let folder: string;

beforeEach(async () => {
  folder = await mkdtemp(join(tmpdir(), 'ptq-dataset-'));
});

afterEach(async () => {
  await rm(folder, { recursive: true, force: true });
});

describe('readDatasetPath', () => {
  it('reads a folder of mixed files in code-point name order, ignoring other files and subfolders', async () => {
    await writeFile(join(folder, 'b.jsonl'), '{"text":"from b.jsonl"}\n');
    await writeFile(join(folder, 'B.txt'), 'from B.txt');
    await writeFile(
      join(folder, 'a.parquet'),
      writeParquet({ columns: [{ name: 'text', type: 'string' }], rows: [{ text: 'from a.parquet' }] }),
    );
    await writeFile(join(folder, 'README.md'), 'not a dataset file');
    await mkdir(join(folder, 'c.txt'));
    const { texts, description } = await readDatasetPath(folder);
    // "B" (0x42) sorts before "a" (0x61) in code-point order.
    expect(texts).toEqual(['from B.txt', 'from a.parquet', 'from b.jsonl']);
    expect(description).toBe(`${folder} (3 of 3 files read)`);
  });

  it('stops reading files once the limit is reached', async () => {
    await writeFile(join(folder, '1.jsonl'), '{"text":"one"}\n{"text":"two"}\n');
    await writeFile(join(folder, '2.jsonl'), 'never read, so never a JSON error\n');
    const { texts, description } = await readDatasetPath(folder, { limit: 2 });
    expect(texts).toEqual(['one', 'two']);
    expect(description).toBe(`${folder} (1 of 2 files read)`);
  });

  it('passes the field and the split on to each file', async () => {
    await writeFile(join(folder, 'a.jsonl'), '{"text":"t","body":"jsonl body"}\n');
    await writeFile(join(folder, 'b.txt'), 'line one\nline two\n');
    expect((await readDatasetPath(folder, { field: 'body', split: 'lines' })).texts).toEqual([
      'jsonl body',
      'line one',
      'line two',
    ]);
  });

  it('describes a single file with the field or split used', async () => {
    const jsonl = join(folder, 'a.jsonl');
    const text = join(folder, 'a.txt');
    await writeFile(jsonl, '{"article":"x"}\n');
    await writeFile(text, 'x\n\ny');
    expect((await readDatasetPath(jsonl)).description).toBe(`${jsonl} (field "article")`);
    expect((await readDatasetPath(text)).description).toBe(`${text} (the whole file as one text)`);
    expect((await readDatasetPath(text, { split: 'paragraphs' })).description).toBe(
      `${text} (one text per paragraph)`,
    );
  });

  it('throws EmptyDatasetError naming the file and field when a file holds no text', async () => {
    const path = join(folder, 'empty.jsonl');
    await writeFile(path, '{"text":""}\n{"text":null}\n');
    const error = await readDatasetPath(path).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(EmptyDatasetError);
    expect(error).toMatchObject({ code: 'PTQ_EMPTY_DATASET', file: path, field: 'text' });
    expect((error as Error).message).toBe(`${path}: no text in field "text"`);
  });

  it('throws EmptyDatasetError for a folder without dataset files, or with only empty ones', async () => {
    await expect(readDatasetPath(folder)).rejects.toThrow(
      `${folder}: no text (the folder has no .txt, .jsonl or .parquet files)`,
    );
    await writeFile(join(folder, 'blank.txt'), '   \n');
    await expect(readDatasetPath(folder)).rejects.toThrow(EmptyDatasetError);
  });

  it('throws UnsupportedDatasetFileError for another file type', async () => {
    const path = join(folder, 'data.csv');
    await writeFile(path, 'text\nhello\n');
    const error = await readDatasetPath(path).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(UnsupportedDatasetFileError);
    expect((error as Error).message).toBe(
      `${path}: cannot read ".csv" files as calibration text (use .txt, .jsonl or .parquet)`,
    );
  });
});
