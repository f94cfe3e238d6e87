import { FileFormatError } from '@ptq/errors';
import {
  decodeText,
  FileTooLargeError,
  readRegularFile,
  type TextEncoding,
  type TextSplit,
} from '@ptq/files';
import { DatasetTextTooLongError } from './calibration-errors';
import { MAX_TEXT_BYTES } from './dataset-limits';
import { isBlank, readLines } from './read-lines';

export type { TextSplit };

export interface ReadTextFileOptions {
  split?: TextSplit;
  /** Stop after this many texts. */
  limit?: number;
  /** @default 'utf-8' (strict: an invalid byte is an error naming the file and its offset) */
  encoding?: TextEncoding;
}

/** A single calibration text of more than this is a mistake (it is truncated to ~512 tokens anyway). */
export const MAX_WHOLE_FILE_BYTES = MAX_TEXT_BYTES;

/** The whole of a regular text file, decoded strictly; larger than one text may be is an error. */
export async function readWholeTextFile(path: string, encoding?: TextEncoding): Promise<string> {
  let bytes: Buffer;
  try {
    bytes = await readRegularFile(path, { maxBytes: MAX_WHOLE_FILE_BYTES, what: 'one calibration text' });
  } catch (error) {
    if (!(error instanceof FileTooLargeError)) throw error;
    throw new FileFormatError(
      'PTQ_TEXT_FILE_SIZE',
      path,
      `${error.size} bytes is more than the ${MAX_WHOLE_FILE_BYTES} bytes one text may have; read it with split: 'lines' or 'paragraphs'`,
      { cause: error },
    );
  }
  return decodeText(bytes, path, encoding);
}

/** Reads a `.txt` file as calibration texts; blank texts are skipped. */
export async function readTextFile(path: string, options: ReadTextFileOptions = {}): Promise<string[]> {
  const limit = options.limit ?? Number.POSITIVE_INFINITY;
  const { encoding } = options;
  if (options.split === undefined) {
    const text = await readWholeTextFile(path, encoding);
    return isBlank(text) || limit < 1 ? [] : [text];
  }
  const texts: string[] = [];
  if (texts.length >= limit) return texts;
  if (options.split === 'lines') {
    for await (const line of readLines(path, { encoding })) {
      if (!isBlank(line.text)) texts.push(line.text);
      if (texts.length >= limit) break;
    }
    return texts;
  }
  let paragraph: string[] = [];
  // Bytes of the paragraph so far, with its line breaks, and the line it starts on.
  let paragraphBytes = 0;
  let paragraphStart = 0;
  for await (const line of readLines(path, { encoding })) {
    if (!isBlank(line.text)) {
      if (paragraph.length === 0) {
        paragraphStart = line.number;
        paragraphBytes = 0;
      }
      paragraphBytes += line.byteLength + (paragraph.length === 0 ? 0 : 1);
      if (paragraphBytes > MAX_TEXT_BYTES) {
        throw new DatasetTextTooLongError(
          `${path}:${paragraphStart}`,
          `the paragraph starting on line ${paragraphStart}`,
          MAX_TEXT_BYTES,
        );
      }
      paragraph.push(line.text);
      continue;
    }
    if (paragraph.length > 0) texts.push(paragraph.join('\n'));
    paragraph = [];
    if (texts.length >= limit) return texts;
  }
  if (paragraph.length > 0 && texts.length < limit) texts.push(paragraph.join('\n'));
  return texts;
}

/**
 * The rows of a WikiText `*.raw` file as the Hugging Face `wikitext` loader gives them: each line with
 * its trailing `\n`, and the `" "` separator lines as `""`.
 */
export function wikitextRows(content: string): string[] {
  const rows = content.split(/(?<=\n)/);
  return rows.map((row) => (row === ' \n' ? '' : row));
}
