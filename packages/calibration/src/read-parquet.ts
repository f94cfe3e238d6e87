import {
  asyncBufferFromFile,
  type FileMetaData,
  parquetMetadataAsync,
  parquetReadObjects,
  parquetSchema,
  type SchemaElement,
} from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { DatasetFieldError, ParquetFormatError } from './calibration-errors';
import { isBlank } from './read-lines';

export interface ReadParquetOptions {
  /** The text column. @default 'text', else 'article' (whichever the file has) */
  field?: string;
  /** Stop after this many texts. */
  limit?: number;
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

/**
 * Reads one text column of a parquet file, row group by row group, in row order, stopping once
 * `limit` texts are read. Only that column is decoded. Null and blank values are skipped.
 */
export async function readParquet(path: string, options: ReadParquetOptions = {}): Promise<ParquetTexts> {
  const limit = options.limit ?? Number.POSITIVE_INFINITY;
  const file = await asyncBufferFromFile(path);
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
      rows = await parquetReadObjects({ file, metadata, columns: [field], rowStart, rowEnd, compressors });
    } catch (error) {
      throw new ParquetFormatError(path, `cannot decode column "${field}" (${(error as Error).message})`, {
        cause: error,
      });
    }
    for (const row of rows) {
      const value = row[field];
      if (typeof value === 'string' && !isBlank(value)) texts.push(value);
      if (texts.length >= limit) break;
    }
    rowStart = rowEnd;
  }
  return { texts, field };
}
