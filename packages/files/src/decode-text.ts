import { isUtf8 } from 'node:buffer';
import { TextEncodingError } from './file-errors';

/** Encodings text files may be read in; `utf-8` is strict (no silent U+FFFD). */
export const TEXT_ENCODINGS = ['utf-8', 'latin1', 'utf-16le'] as const;
export type TextEncoding = (typeof TEXT_ENCODINGS)[number];

/**
 * Offset of the first byte that does not start or continue a valid UTF-8 sequence (RFC 3629:
 * shortest form only, no surrogates, nothing above U+10FFFF), or -1 when all of `bytes` is valid.
 */
export function findInvalidUtf8(bytes: Uint8Array): number {
  let index = 0;
  while (index < bytes.length) {
    const first = bytes[index]!;
    if (first < 0x80) {
      index++;
      continue;
    }
    let length: number;
    let low = 0x80;
    let high = 0xbf;
    if (first >= 0xc2 && first <= 0xdf) length = 2;
    else if (first >= 0xe0 && first <= 0xef) {
      length = 3;
      if (first === 0xe0) low = 0xa0;
      if (first === 0xed) high = 0x9f;
    } else if (first >= 0xf0 && first <= 0xf4) {
      length = 4;
      if (first === 0xf0) low = 0x90;
      if (first === 0xf4) high = 0x8f;
    } else return index;
    for (let next = 1; next < length; next++) {
      const byte = bytes[index + next];
      if (byte === undefined) return index;
      const min = next === 1 ? low : 0x80;
      const max = next === 1 ? high : 0xbf;
      if (byte < min || byte > max) return index;
    }
    index += length;
  }
  return -1;
}

/** Decodes a file's bytes; invalid UTF-8 is an error naming the file and the byte offset. */
export function decodeText(bytes: Uint8Array, file: string, encoding: TextEncoding = 'utf-8'): string {
  if (encoding === 'utf-8') {
    // Node's native check is the fast path; the scan runs only to name the offset of a bad byte.
    if (!isUtf8(bytes)) throw new TextEncodingError(file, encoding, findInvalidUtf8(bytes));
    return new TextDecoder('utf-8', { ignoreBOM: false }).decode(bytes);
  }
  if (encoding === 'utf-16le') {
    if (bytes.length % 2 !== 0) throw new TextEncodingError(file, encoding, bytes.length - 1);
    return new TextDecoder('utf-16le').decode(bytes);
  }
  return new TextDecoder('latin1').decode(bytes);
}
