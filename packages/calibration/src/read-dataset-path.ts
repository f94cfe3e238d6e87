import type { Stats } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { openRegularFile, type TextEncoding } from '@ptq/files';
import { DatasetNotFoundError, EmptyDatasetError, UnsupportedDatasetFileError } from './calibration-errors';
import { MAX_DATASET_FILE_BYTES } from './dataset-limits';
import { readJsonl } from './read-jsonl';
import { readParquet } from './read-parquet';
import { readTextFile, type TextSplit } from './read-text-file';

export const DATASET_FILE_EXTENSIONS: readonly string[] = ['.txt', '.jsonl', '.parquet'];

export interface ReadDatasetPathOptions {
  /** Text field of `.jsonl` records and `.parquet` columns. @default 'text', else 'article' */
  field?: string;
  /** How `.txt` files are cut into texts. @default the whole file is one text */
  split?: TextSplit;
  /** Stop after this many texts. */
  limit?: number;
  /** How the files' bytes are decoded. @default 'utf-8' (strict) */
  encoding?: TextEncoding;
}

export interface DatasetPathTexts {
  texts: string[];
  /** Where the texts came from, for notices: the path and the field or split used. */
  description: string;
}

interface FileTexts {
  texts: string[];
  field: string | undefined;
}

async function readDatasetFile(path: string, options: ReadDatasetPathOptions): Promise<FileTexts> {
  const extension = extname(path).toLowerCase();
  const { limit, encoding } = options;
  switch (extension) {
    case '.txt': {
      const split = options.split;
      return {
        texts: await readTextFile(
          path,
          split === undefined ? { limit, encoding } : { split, limit, encoding },
        ),
        field: undefined,
      };
    }
    case '.jsonl':
      return readJsonl(path, { field: options.field, limit, encoding });
    case '.parquet':
      return readParquet(path, { field: options.field, limit, encoding });
    default:
      throw new UnsupportedDatasetFileError(path, extension);
  }
}

function describeRead(options: ReadDatasetPathOptions, field: string | undefined): string {
  if (field !== undefined) return `field "${field}"`;
  if (options.split === 'lines') return 'one text per line';
  if (options.split === 'paragraphs') return 'one text per paragraph';
  return 'the whole file as one text';
}

/** What a folder entry with a dataset extension is, following links; a dangling link is not found. */
async function statEntry(file: string): Promise<Stats> {
  try {
    return await stat(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new DatasetNotFoundError(file);
    throw error;
  }
}

/**
 * Reads calibration texts from a `.txt`, `.jsonl` or `.parquet` file, or from a folder of them
 * (its files in name order, not recursive: subfolders and files of other types are ignored; an
 * entry with a dataset extension that is neither a regular file nor a folder, such as a FIFO, a
 * device or a dangling link, is an error), stopping at `limit` texts.
 */
export async function readDatasetPath(
  path: string,
  options: ReadDatasetPathOptions = {},
): Promise<DatasetPathTexts> {
  const limit = options.limit ?? Number.POSITIVE_INFINITY;
  if (!(await stat(path)).isDirectory()) {
    const { texts, field } = await readDatasetFile(path, options);
    if (texts.length === 0) throw new EmptyDatasetError(path, field);
    return { texts, description: `${path} (${describeRead(options, field)})` };
  }
  const entries = await readdir(path, { withFileTypes: true });
  const files: string[] = [];
  for (const entry of entries) {
    if (!DATASET_FILE_EXTENSIONS.includes(extname(entry.name).toLowerCase())) continue;
    if (entry.isDirectory()) continue;
    const file = join(path, entry.name);
    const stats = entry.isFile() ? undefined : await statEntry(file);
    if (stats?.isDirectory()) continue;
    if (stats !== undefined && !stats.isFile()) {
      // Refused, not skipped: it was meant as data. openRegularFile throws, naming what it is, before opening it.
      const { handle } = await openRegularFile(file, { maxBytes: MAX_DATASET_FILE_BYTES });
      await handle.close();
    }
    files.push(entry.name);
  }
  // Code-point order, so the sample is the same on every machine and locale.
  files.sort((left, right) => (left < right ? -1 : left > right ? 1 : 0));
  if (files.length === 0) {
    throw new EmptyDatasetError(path, undefined, 'the folder has no .txt, .jsonl or .parquet files');
  }
  const texts: string[] = [];
  let read = 0;
  for (const name of files) {
    if (texts.length >= limit) break;
    const result = await readDatasetFile(join(path, name), { ...options, limit: limit - texts.length });
    for (const text of result.texts) texts.push(text);
    read++;
  }
  if (texts.length === 0) {
    throw new EmptyDatasetError(path, options.field, `none of its ${files.length} dataset files holds any`);
  }
  return {
    texts,
    description: `${path} (${read} of ${files.length} file${files.length === 1 ? '' : 's'} read)`,
  };
}
