import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ProtobufReader } from './protobuf-reader';
import { encodeMessage, type ProtobufSink, varintSize } from './protobuf-writer';

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

describe('varintSize', () => {
  // Boundaries of the 7-bit groups; negative int64 values always take the full 10 bytes.
  it.each([
    [0, 1],
    [1, 1],
    [127, 1],
    [128, 2],
    [16_383, 2],
    [16_384, 3],
    [2 ** 21 - 1, 3],
    [2 ** 21, 4],
    [2 ** 28, 5],
    [2 ** 35, 6],
    [2 ** 42, 7],
    [2 ** 49, 8],
    [Number.MAX_SAFE_INTEGER, 8],
    [2n ** 56n, 9],
    [2n ** 63n - 1n, 9],
    [2n ** 63n, 10],
    [-1, 10],
    [-1n, 10],
    [-(2n ** 63n), 10],
  ])('%s takes %i bytes', (value, size) => {
    expect(varintSize(value)).toBe(size);
  });
});

describe('ProtobufWriter', () => {
  // The examples of the protobuf encoding guide (protobuf.dev/programming-guides/encoding).
  it('writes the encoding guide examples byte for byte', () => {
    expect(hex(encodeMessage((sink) => sink.varint(1, 150)))).toBe('089601');
    expect(hex(encodeMessage((sink) => sink.string(2, 'testing')))).toBe('120774657374696e67');
    expect(hex(encodeMessage((sink) => sink.message(3, () => sink.varint(1, 150))))).toBe('1a03089601');
  });

  it('writes negative int64 as ten bytes of two’s complement', () => {
    expect(hex(encodeMessage((sink) => sink.varint(1, -1)))).toBe('08ffffffffffffffffff01');
    expect(hex(encodeMessage((sink) => sink.varint(1, -2n)))).toBe('08feffffffffffffffff01');
  });

  it('writes floats as little-endian fixed32 and field numbers above 15 with two-byte tags', () => {
    // 1.0f = 0x3f800000; field 2 wire type 5 → tag 0x15.
    expect(hex(encodeMessage((sink) => sink.float(2, 1)))).toBe('150000803f');
    // Field 20 wire type 0 → key 160 → varint a0 01.
    expect(hex(encodeMessage((sink) => sink.varint(20, 2)))).toBe('a00102');
  });

  it('measures UTF-8 strings by bytes, not UTF-16 units', () => {
    // "é" is two UTF-8 bytes, "😀" four.
    expect(hex(encodeMessage((sink) => sink.string(1, 'é😀')))).toBe('0a06c3a9f09f9880');
  });

  it('writes nested messages, including empty ones, with their exact lengths', () => {
    const bytes = encodeMessage((sink) => {
      sink.message(1, () => {
        sink.message(2, () => {});
        sink.bytes(3, new Uint8Array([1, 2, 3]));
      });
    });
    expect(hex(bytes)).toBe('0a0712001a03010203');
  });

  it('lets the size check refuse before the buffer is allocated', () => {
    let encoded = 0;
    expect(() =>
      encodeMessage(
        (sink) => {
          encoded++;
          sink.bytes(1, new Uint8Array(100));
        },
        (size) => {
          if (size > 50) throw new RangeError(`too big: ${size}`);
        },
      ),
    ).toThrow('too big: 102');
    // Only the measuring pass ran.
    expect(encoded).toBe(1);
  });
});

describe('writer and reader agree', () => {
  it('round-trips int64 varints (property)', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
        fc.integer({ min: 1, max: 536_870_911 }),
        (value, field) => {
          const bytes = encodeMessage((sink) => sink.varint(field, value));
          expect(bytes.length).toBe(varintSize(field * 8) + varintSize(value));
          const reader = new ProtobufReader(bytes, 'test', 'Test');
          expect(reader.readTag()).toEqual({ field, wireType: 0 });
          expect(reader.readVarintSigned('value')).toBe(value);
          expect(reader.atEnd).toBe(true);
        },
      ),
    );
  });

  it('round-trips safe integers through the number fast path (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), (value) => {
        const reader = new ProtobufReader(
          encodeMessage((sink) => sink.varint(1, value)),
          'test',
          'Test',
        );
        reader.readTag();
        expect(reader.readVarintNumber('value')).toBe(value);
      }),
    );
  });

  it('round-trips strings, floats and nested messages (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.string({ unit: 'grapheme' }), fc.float({ noNaN: true }))),
        (entries) => {
          const encode = (sink: ProtobufSink) => {
            for (const [text, number] of entries) {
              sink.message(1, () => {
                sink.string(1, text);
                sink.float(2, number);
              });
            }
          };
          const reader = new ProtobufReader(encodeMessage(encode), 'test', 'Test');
          const decoded: [string, number][] = [];
          while (!reader.atEnd) {
            reader.readTag();
            const nested = reader.readMessage('entry', 'Entry');
            nested.readTag();
            const text = nested.readString('text');
            nested.readTag();
            decoded.push([text, nested.readFloat('number')]);
          }
          expect(decoded).toEqual(entries);
        },
      ),
    );
  });
});
