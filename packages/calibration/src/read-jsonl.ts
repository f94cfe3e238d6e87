import type { TextEncoding } from '@ptq/files';
import { DatasetFieldError, MalformedJsonlError } from './calibration-errors';
import { isBlank, readLines } from './read-lines';

export interface ReadJsonlOptions {
  /** The text field. @default 'text', else 'article' (whichever the first record has) */
  field?: string;
  /** Stop after this many texts. */
  limit?: number;
  /** @default 'utf-8' (strict: an invalid byte, in a string or not, is an error naming the line and its file offset) */
  encoding?: TextEncoding;
}

export interface JsonlTexts {
  texts: string[];
  /** The field read; undefined when the file has no record. */
  field: string | undefined;
}

const DEFAULT_FIELDS = ['text', 'article'];

/** A UTF-16 surrogate without its pair: what a JSON `\ud800` escape alone gives, not text. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function describeJsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

/**
 * Reads the text field of each record of a JSONL file, streaming, in file order. Blank lines are
 * skipped, as are records whose text is null, empty or whitespace.
 */
export async function readJsonl(path: string, options: ReadJsonlOptions = {}): Promise<JsonlTexts> {
  const limit = options.limit ?? Number.POSITIVE_INFINITY;
  const texts: string[] = [];
  let field = options.field;
  if (limit < 1) return { texts, field };
  for await (const { text: line, number: lineNumber } of readLines(path, { encoding: options.encoding })) {
    if (isBlank(line)) continue;
    let record: unknown;
    try {
      record = JSON.parse(line);
    } catch (error) {
      throw new MalformedJsonlError(path, lineNumber, `not valid JSON (${(error as Error).message})`, {
        cause: error,
      });
    }
    if (typeof record !== 'object' || record === null || Array.isArray(record)) {
      throw new MalformedJsonlError(
        path,
        lineNumber,
        `expected a JSON object, got ${describeJsonType(record)}`,
      );
    }
    const fields = Object.keys(record);
    if (field === undefined) {
      field = DEFAULT_FIELDS.find((candidate) => fields.includes(candidate));
      if (field === undefined) {
        throw new DatasetFieldError(
          `${path}:${lineNumber}`,
          'text',
          `records have neither a "text" nor an "article" field (fields: ${fields.join(', ') || 'none'}); pass options.field`,
        );
      }
    }
    if (!Object.hasOwn(record, field)) {
      throw new DatasetFieldError(
        `${path}:${lineNumber}`,
        field,
        `record has no field "${field}" (fields: ${fields.join(', ') || 'none'})`,
      );
    }
    const value = (record as Record<string, unknown>)[field];
    if (value === null) continue;
    if (typeof value !== 'string') {
      throw new DatasetFieldError(
        `${path}:${lineNumber}`,
        field,
        `field "${field}" is ${describeJsonType(value)}, not text`,
      );
    }
    const surrogate = LONE_SURROGATE.exec(value);
    if (surrogate !== null) {
      const code = surrogate[0].charCodeAt(0).toString(16);
      throw new DatasetFieldError(
        `${path}:${lineNumber}`,
        field,
        `field "${field}" holds a lone surrogate \\u${code} at character ${surrogate.index}, which is not text`,
      );
    }
    if (!isBlank(value)) texts.push(value);
    if (texts.length >= limit) break;
  }
  return { texts, field };
}
