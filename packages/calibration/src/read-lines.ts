import { isUtf8 } from 'node:buffer';
import { decodeText, openRegularFile, type TextEncoding, TextEncodingError } from '@ptq/files';
import { DatasetTextTooLongError } from './calibration-errors';
import { MAX_DATASET_FILE_BYTES, MAX_TEXT_BYTES } from './dataset-limits';

export interface TextLine {
  readonly text: string;
  /** 1-based line number. */
  readonly number: number;
  /** Bytes of the line in the file, without its line break. */
  readonly byteLength: number;
}

export interface ReadLinesOptions {
  /** @default 'utf-8' (strict: an invalid byte is an error naming the line and its file offset) */
  encoding?: TextEncoding;
  /** @default MAX_TEXT_BYTES */
  maxLineBytes?: number;
  /** @default MAX_DATASET_FILE_BYTES */
  maxFileBytes?: number;
}

const CHUNK_BYTES = 1024 * 1024;

const BYTE_ORDER_MARKS: Readonly<Record<TextEncoding, readonly number[]>> = {
  'utf-8': [0xef, 0xbb, 0xbf],
  latin1: [],
  'utf-16le': [0xff, 0xfe],
};

function startsWith(bytes: Uint8Array, prefix: readonly number[]): boolean {
  return prefix.length > 0 && prefix.every((byte, index) => bytes[index] === byte);
}

/** The next line break at or after `from`: `\n`, or in UTF-16LE the code unit 0x000A (at an even offset). */
function nextLineBreak(chunk: Uint8Array, from: number, unit: number): number {
  let index = chunk.indexOf(0x0a, from);
  if (unit === 1) return index;
  while (index !== -1 && (index % 2 !== 0 || chunk[index + 1] !== 0)) index = chunk.indexOf(0x0a, index + 1);
  return index;
}

/** The line without a `\r` before its line break. */
function withoutCarriageReturn(bytes: Uint8Array, unit: number): Uint8Array {
  const end = bytes.length - unit;
  if (end < 0 || bytes[end] !== 0x0d || (unit === 2 && bytes[end + 1] !== 0)) return bytes;
  return bytes.subarray(0, end);
}

/**
 * Yields the lines of a regular file, split at `\n` (a `\r` before it dropped), decoded strictly in
 * `encoding`, one at a time, so a large file is never held whole; a line longer than `maxLineBytes`
 * is an error. A byte-order mark at the start of the file is not text. Stop early by breaking out of
 * the loop; the file is closed either way.
 */
export async function* readLines(path: string, options: ReadLinesOptions = {}): AsyncGenerator<TextLine> {
  const encoding = options.encoding ?? 'utf-8';
  const maxLineBytes = options.maxLineBytes ?? MAX_TEXT_BYTES;
  const unit = encoding === 'utf-16le' ? 2 : 1;
  const { handle, size } = await openRegularFile(path, {
    maxBytes: options.maxFileBytes ?? MAX_DATASET_FILE_BYTES,
    what: 'a streamed dataset file',
  });
  let number = 0;
  // File offset where the current line starts, and its bytes read so far.
  let lineStart = 0;
  let pieces: Uint8Array[] = [];
  let pieceBytes = 0;
  const tooLong = (line: number) =>
    new DatasetTextTooLongError(`${path}:${line}`, `line ${line}`, maxLineBytes);
  const finishLine = (bytes: Uint8Array): TextLine => {
    number++;
    const content = withoutCarriageReturn(bytes, unit);
    if (content.length > maxLineBytes) throw tooLong(number);
    // Valid UTF-8, the common case, is decoded natively: decodeText scans in JavaScript and is about
    // twice as slow per line. It still decodes everything else and finds the offset of a bad byte.
    if (encoding === 'utf-8' && isUtf8(content)) {
      const text = Buffer.from(content.buffer, content.byteOffset, content.length).toString('utf8');
      return {
        text: lineStart === 0 ? text.replace(/^\uFEFF/, '') : text,
        number,
        byteLength: content.length,
      };
    }
    let text: string;
    try {
      text = decodeText(content, path, encoding);
    } catch (error) {
      if (!(error instanceof TextEncodingError)) throw error;
      throw new TextEncodingError(`${path}:${number}`, encoding, lineStart + error.byteOffset);
    }
    // decodeText drops a byte-order mark wherever it is given one; only the file's first one is not text.
    if (lineStart > 0 && startsWith(content, BYTE_ORDER_MARKS[encoding])) text = `\uFEFF${text}`;
    return { text, number, byteLength: content.length };
  };
  try {
    let consumed = 0;
    let position = 0;
    // UTF-16LE only: a last odd byte waits for the next read, so chunks split between code units.
    let pending: Uint8Array | undefined;
    // Only the bytes the file had when checked: one that grows while read does not go on for ever.
    while (position < size) {
      const buffer = new Uint8Array(Math.min(CHUNK_BYTES, size - position));
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, position);
      if (bytesRead === 0) break;
      position += bytesRead;
      let chunk = buffer.subarray(0, bytesRead);
      if (pending !== undefined) {
        chunk = Buffer.concat([pending, chunk]);
        pending = undefined;
      }
      if (chunk.length % unit !== 0) {
        pending = chunk.subarray(chunk.length - 1);
        chunk = chunk.subarray(0, chunk.length - 1);
      }
      let from = 0;
      for (let end = nextLineBreak(chunk, from, unit); end !== -1; end = nextLineBreak(chunk, from, unit)) {
        const tail = chunk.subarray(from, end);
        yield finishLine(pieces.length === 0 ? tail : Buffer.concat([...pieces, tail]));
        pieces = [];
        pieceBytes = 0;
        from = end + unit;
        lineStart = consumed + from;
      }
      const rest = chunk.subarray(from);
      pieces.push(rest);
      pieceBytes += rest.length;
      // Slack for the `\r` that may come before the line break.
      if (pieceBytes > maxLineBytes + unit) throw tooLong(number + 1);
      consumed += chunk.length;
    }
    if (pending !== undefined) {
      pieces.push(pending);
      pieceBytes += pending.length;
    }
    if (pieceBytes > 0) yield finishLine(Buffer.concat(pieces));
  } finally {
    await handle.close();
  }
}

/** Calibration skips texts with nothing but whitespace: they carry no signal (wikitext's blank rows). */
export function isBlank(text: string): boolean {
  return text.trim() === '';
}
