import type { FileHandle } from 'node:fs/promises';
import { decodeText, openRegularFile, type TextEncoding } from '@ptq/files';
import {
  type AsyncBuffer,
  type FileMetaData,
  parquetMetadataAsync,
  parquetReadObjects,
  parquetSchema,
  type SchemaElement,
} from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { DatasetFieldError, ParquetFormatError } from './calibration-errors';
import { MAX_DATASET_FILE_BYTES } from './dataset-limits';
import { isBlank } from './read-lines';

export interface ReadParquetOptions {
  /** The text column. @default 'text', else 'article' (whichever the file has) */
  field?: string;
  /** Stop after this many texts. */
  limit?: number;
  /** How string values are decoded. @default 'utf-8' (strict: an invalid byte names the row and its offset in the value) */
  encoding?: TextEncoding;
}

export interface ParquetTexts {
  texts: string[];
  field: string;
}

const DEFAULT_FIELDS = ['text', 'article'];

/** Strings are BYTE_ARRAY, annotated UTF8/STRING or (older writers) not annotated, which hyparquet decodes as UTF-8. */
function isTextColumn(element: SchemaElement): boolean {
  return (
    element.type === 'BYTE_ARRAY' &&
    (element.converted_type === undefined || element.converted_type === 'UTF8') &&
    (element.logical_type === undefined || element.logical_type.type === 'STRING')
  );
}

function describeColumnType(element: SchemaElement): string {
  if (element.type === undefined) return 'a group';
  return element.logical_type?.type ?? element.converted_type ?? element.type;
}

/** Byte ranges of an open file, as hyparquet reads them; a file that shrank while open is an error. */
function fileRanges(handle: FileHandle, size: number): AsyncBuffer {
  return {
    byteLength: size,
    async slice(start: number, end: number = size): Promise<ArrayBuffer> {
      if (
        !(
          Number.isSafeInteger(start) &&
          Number.isSafeInteger(end) &&
          0 <= start &&
          start <= end &&
          end <= size
        )
      ) {
        throw new Error(`byte range ${start}..${end} is outside the file's ${size} bytes`);
      }
      const bytes = new Uint8Array(end - start);
      let filled = 0;
      while (filled < bytes.length) {
        const { bytesRead } = await handle.read(bytes, filled, bytes.length - filled, start + filled);
        if (bytesRead === 0)
          throw new Error(`the file ended at byte ${start + filled}, it was ${size} bytes`);
        filled += bytesRead;
      }
      return bytes.buffer;
    },
  };
}

/** hyparquet hands string bytes over undecoded, so that they are decoded strictly here, row by row. */
const RAW_STRINGS = { stringFromBytes: (bytes: Uint8Array | undefined) => bytes };

/**
 * Reads one text column of a parquet file, row group by row group, in row order, stopping once
 * `limit` texts are read. Only that column is decoded. Null and blank values are skipped.
 */
export async function readParquet(path: string, options: ReadParquetOptions = {}): Promise<ParquetTexts> {
  const { handle, size } = await openRegularFile(path, {
    maxBytes: MAX_DATASET_FILE_BYTES,
    what: 'a parquet dataset file',
  });
  try {
    return await readParquetColumn(path, fileRanges(handle, size), options);
  } finally {
    await handle.close();
  }
}

async function readParquetColumn(
  path: string,
  file: AsyncBuffer,
  options: ReadParquetOptions,
): Promise<ParquetTexts> {
  const limit = options.limit ?? Number.POSITIVE_INFINITY;
  let metadata: FileMetaData;
  try {
    metadata = await parquetMetadataAsync(file);
  } catch (error) {
    throw new ParquetFormatError(path, `not a readable parquet file (${(error as Error).message})`, {
      cause: error,
    });
  }
  const columns = parquetSchema(metadata).children.map((child) => child.element);
  const names = columns.map((column) => column.name);
  const field = options.field ?? DEFAULT_FIELDS.find((candidate) => names.includes(candidate));
  if (field === undefined) {
    throw new DatasetFieldError(
      path,
      'text',
      `has neither a "text" nor an "article" column (columns: ${names.join(', ')}); pass options.field`,
    );
  }
  const column = columns.find((candidate) => candidate.name === field);
  if (column === undefined) {
    throw new DatasetFieldError(path, field, `has no column "${field}" (columns: ${names.join(', ')})`);
  }
  if (!isTextColumn(column)) {
    throw new DatasetFieldError(path, field, `column "${field}" is ${describeColumnType(column)}, not text`);
  }

  const texts: string[] = [];
  let rowStart = 0;
  for (const rowGroup of metadata.row_groups) {
    if (texts.length >= limit) break;
    const rowEnd = rowStart + Number(rowGroup.num_rows);
    let rows: Record<string, unknown>[];
    try {
      rows = await parquetReadObjects({
        file,
        metadata,
        columns: [field],
        rowStart,
        rowEnd,
        compressors,
        parsers: RAW_STRINGS,
      });
    } catch (error) {
      throw new ParquetFormatError(path, `cannot decode column "${field}" (${(error as Error).message})`, {
        cause: error,
      });
    }
    for (const [index, row] of rows.entries()) {
      const value = row[field];
      if (!(value instanceof Uint8Array)) continue;
      const text = decodeText(
        value,
        `${path} [row ${rowStart + index}, column "${field}"]`,
        options.encoding,
      );
      if (!isBlank(text)) texts.push(text);
      if (texts.length >= limit) break;
    }
    rowStart = rowEnd;
  }
  return { texts, field };
}
