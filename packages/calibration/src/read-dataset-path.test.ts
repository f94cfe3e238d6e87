import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NotARegularFileError, TextEncodingError } from '@ptq/files';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  DatasetFieldError,
  DatasetNotFoundError,
  EmptyDatasetError,
  UnsupportedDatasetFileError,
} from './calibration-errors';
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

  it('refuses a FIFO or a link to /dev/zero given as the path, at once', async () => {
    const fifo = join(folder, 'pipe.txt');
    execFileSync('mkfifo', [fifo]);
    await expect(readDatasetPath(fifo)).rejects.toThrow(`${fifo}: is a FIFO, not a regular file`);
    const zero = join(folder, 'zero.jsonl');
    await symlink('/dev/zero', zero);
    await expect(readDatasetPath(zero)).rejects.toThrow(`${zero}: is a character device, not a regular file`);
  });

  it('in a folder: reads links to regular files, ignores other types, refuses special entries named as data', async () => {
    await writeFile(join(folder, 'real.txt'), 'through a link');
    await mkdir(join(folder, 'data'));
    await symlink(join(folder, 'real.txt'), join(folder, 'data', 'linked.txt'));
    execFileSync('mkfifo', [join(folder, 'data', 'pipe.md')]); // not a dataset name: ignored, never opened
    expect((await readDatasetPath(join(folder, 'data'))).texts).toEqual(['through a link']);

    const fifo = join(folder, 'data', 'pipe.jsonl');
    execFileSync('mkfifo', [fifo]);
    const error = await readDatasetPath(join(folder, 'data')).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(NotARegularFileError);
    expect((error as Error).message).toBe(`${fifo}: is a FIFO, not a regular file`);
    await rm(fifo);

    await symlink('/dev/zero', join(folder, 'data', 'zero.txt'));
    await expect(readDatasetPath(join(folder, 'data'))).rejects.toThrow(
      `${join(folder, 'data', 'zero.txt')}: is a character device, not a regular file`,
    );
    await rm(join(folder, 'data', 'zero.txt'));

    await symlink(join(folder, 'gone.parquet'), join(folder, 'data', 'dangling.parquet'));
    await expect(readDatasetPath(join(folder, 'data'))).rejects.toThrow(DatasetNotFoundError);
  });

  it('decodes every file of a folder in the encoding given, strictly UTF-8 by default', async () => {
    await writeFile(join(folder, 'a.txt'), Uint8Array.from([0x6e, 0x61, 0xef, 0x76, 0x65])); // "naïve" in Latin-1
    await writeFile(
      join(folder, 'b.jsonl'),
      Buffer.concat([Buffer.from('{"text":"'), Buffer.from([0xe0]), Buffer.from('"}')]),
    );
    await expect(readDatasetPath(folder)).rejects.toThrow(
      `${join(folder, 'a.txt')}: is not valid utf-8: bad byte sequence at byte offset 2`,
    );
    await expect(readDatasetPath(folder)).rejects.toBeInstanceOf(TextEncodingError);
    expect((await readDatasetPath(folder, { encoding: 'latin1' })).texts).toEqual(['naïve', 'à']);
  });

  it('names file and field when the chosen field is in no record', async () => {
    await writeFile(join(folder, 'a.jsonl'), '{"text":"t"}\n{"text":"u"}\n');
    const error = await readDatasetPath(folder, { field: 'body' }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(DatasetFieldError);
    expect(error).toMatchObject({
      code: 'PTQ_DATASET_FIELD',
      field: 'body',
      file: `${join(folder, 'a.jsonl')}:1`,
    });
    expect((error as Error).message).toBe(
      `${join(folder, 'a.jsonl')}:1: record has no field "body" (fields: text)`,
    );
  });

  it('names the folder and the field when no file holds text in it', async () => {
    await writeFile(join(folder, 'a.jsonl'), '{"body":null}\n');
    await writeFile(join(folder, 'b.jsonl'), '{"body":"  "}\n');
    await expect(readDatasetPath(folder, { field: 'body' })).rejects.toThrow(
      `${folder}: no text in field "body" (none of its 2 dataset files holds any)`,
    );
  });
});
