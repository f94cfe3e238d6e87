import { readFile, stat } from 'node:fs/promises';
import { FileFormatError } from '@ptq/errors';
import { isBlank, readLines } from './read-lines';

/** How a `.txt` file becomes texts: one text per line, per blank-line-separated paragraph, or (undefined) the whole file. */
export type TextSplit = 'lines' | 'paragraphs';

export interface ReadTextFileOptions {
  split?: TextSplit;
  /** Stop after this many texts. */
  limit?: number;
}

/** A single calibration text of more than this is a mistake (it is truncated to ~512 tokens anyway). */
export const MAX_WHOLE_FILE_BYTES = 64 * 1024 * 1024;

/** Reads a `.txt` file as calibration texts; blank texts are skipped. */
export async function readTextFile(path: string, options: ReadTextFileOptions = {}): Promise<string[]> {
  const limit = options.limit ?? Number.POSITIVE_INFINITY;
  if (options.split === undefined) {
    const { size } = await stat(path);
    if (size > MAX_WHOLE_FILE_BYTES) {
      throw new FileFormatError(
        'PTQ_TEXT_FILE_SIZE',
        path,
        `${size} bytes is more than the ${MAX_WHOLE_FILE_BYTES} bytes one text may have; read it with split: 'lines' or 'paragraphs'`,
      );
    }
    const text = (await readFile(path, 'utf8')).replace(/^\uFEFF/, '');
    return isBlank(text) || limit < 1 ? [] : [text];
  }
  const texts: string[] = [];
  if (texts.length >= limit) return texts;
  if (options.split === 'lines') {
    for await (const line of readLines(path)) {
      if (!isBlank(line)) texts.push(line);
      if (texts.length >= limit) break;
    }
    return texts;
  }
  let paragraph: string[] = [];
  for await (const line of readLines(path)) {
    if (!isBlank(line)) {
      paragraph.push(line);
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
