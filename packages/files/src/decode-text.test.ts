import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeText, findInvalidUtf8 } from './decode-text';
import { TextEncodingError } from './file-errors';

/** The WHATWG decoder in fatal mode is the independent reference for validity. */
function isValidByReference(bytes: Uint8Array): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return true;
  } catch {
    return false;
  }
}

describe('findInvalidUtf8', () => {
  it('agrees with the fatal WHATWG decoder on every one- and two-byte input', () => {
    for (let first = 0; first < 256; first++) {
      expect(findInvalidUtf8(Uint8Array.of(first)) === -1).toBe(isValidByReference(Uint8Array.of(first)));
      for (let second = 0; second < 256; second++) {
        const bytes = Uint8Array.of(first, second);
        expect(findInvalidUtf8(bytes) === -1, `${first} ${second}`).toBe(isValidByReference(bytes));
      }
    }
  });

  it('agrees on every three-byte input that starts a three- or four-byte sequence', () => {
    for (let first = 0xe0; first <= 0xf7; first++) {
      for (let second = 0x70; second < 0xd0; second++) {
        for (const third of [0x00, 0x7f, 0x80, 0x9f, 0xa0, 0xbf, 0xc0]) {
          const bytes = Uint8Array.of(first, second, third);
          expect(findInvalidUtf8(bytes) === -1, `${first} ${second} ${third}`).toBe(
            isValidByReference(bytes),
          );
        }
      }
    }
  });

  it('points at the first bad byte: everything before it is valid and decoding from it fails', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 64 }),
        fc.string({ unit: 'binary', maxLength: 16 }),
        (noise, text) => {
          const prefix = new TextEncoder().encode(text);
          const bytes = new Uint8Array([...prefix, ...noise]);
          const offset = findInvalidUtf8(bytes);
          expect(offset === -1).toBe(isValidByReference(bytes));
          if (offset >= 0) {
            expect(offset).toBeGreaterThanOrEqual(prefix.length);
            expect(isValidByReference(bytes.subarray(0, offset))).toBe(true);
          }
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('decodeText', () => {
  it('names the file and the byte offset of Latin-1 text read as UTF-8', () => {
    const bytes = Uint8Array.from([0x63, 0x61, 0x66, 0xe9, 0x20, 0x6f, 0x6b]); // "café ok" in Latin-1
    expect(() => decodeText(bytes, 'news.txt')).toThrow(TextEncodingError);
    expect(() => decodeText(bytes, 'news.txt')).toThrow(
      /^news\.txt: is not valid utf-8: bad byte sequence at byte offset 3/,
    );
    expect(decodeText(bytes, 'news.txt', 'latin1')).toBe('café ok');
  });

  it('decodes UTF-16LE only when asked, and refuses an odd byte count', () => {
    const bytes = Uint8Array.from([0x68, 0x00, 0x69, 0x00]);
    expect(decodeText(bytes, 'a.txt', 'utf-16le')).toBe('hi');
    expect(() => decodeText(bytes.subarray(0, 3), 'a.txt', 'utf-16le')).toThrow(/byte offset 2/);
  });

  it('drops a UTF-8 byte order mark and keeps the text', () => {
    expect(decodeText(Uint8Array.from([0xef, 0xbb, 0xbf, 0x41]), 'a.txt')).toBe('A');
  });
});
