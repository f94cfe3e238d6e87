import { PtqError } from '@ptq/errors';
import { describe, expect, it } from 'vitest';
import { OnnxFormatError } from './errors';
import { ProtobufReader, readRepeated } from './protobuf-reader';

function reader(hexBytes: string): ProtobufReader {
  return new ProtobufReader(Uint8Array.from(Buffer.from(hexBytes, 'hex')), 'model.onnx', 'TestProto');
}

function thrown(action: () => unknown): OnnxFormatError {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(OnnxFormatError);
    expect(PtqError.isInstance(error)).toBe(true);
    return error as OnnxFormatError;
  }
  throw new Error('expected an error');
}

describe('ProtobufReader bad input', () => {
  it('rejects a varint cut off by the end of the message', () => {
    const source = reader('08ff');
    source.readTag();
    const error = thrown(() => source.readVarintUnsigned('value'));
    expect(error.code).toBe('PTQ_ONNX_FORMAT');
    expect(error.file).toBe('model.onnx');
    expect(error.message).toBe(
      'model.onnx: TestProto field value (byte 2): varint runs past the end of the message',
    );
  });

  it('rejects a varint longer than ten bytes', () => {
    expect(thrown(() => reader('ffffffffffffffffffff01').readVarintUnsigned('i')).message).toContain(
      'varint is longer than 10 bytes',
    );
  });

  it('rejects a length that runs past the end, naming the bytes left', () => {
    const source = reader('0a05616263');
    source.readTag();
    expect(thrown(() => source.readBytes('name')).message).toBe(
      'model.onnx: TestProto field name (byte 2): needs 5 bytes, only 3 are left in the message',
    );
  });

  it('rejects field number 0 and unknown wire types', () => {
    expect(thrown(() => reader('00').readTag()).message).toContain('field number 0 is not valid protobuf');
    const source = reader('0b');
    const tag = source.readTag();
    expect(tag).toEqual({ field: 1, wireType: 3 });
    expect(thrown(() => source.skip(tag)).message).toContain('unsupported wire type 3');
  });

  it('rejects a field with an unexpected wire type', () => {
    const source = reader('0d00000000');
    const tag = source.readTag();
    expect(thrown(() => source.expectWireType(tag, 2, 'name')).message).toContain(
      'field name (byte 1): wire type 5, expected 2',
    );
  });

  it('rejects strings that are not UTF-8', () => {
    const source = reader('0a02c328');
    source.readTag();
    expect(thrown(() => source.readString('name')).message).toContain('string is not valid UTF-8');
  });

  it('rejects numbers that must be non-negative safe integers', () => {
    expect(thrown(() => reader('ffffffffffffffffff01').readVarintNumber('dims')).message).toContain(
      'value -1 is not a non-negative integer below 2^53',
    );
    // 2^53 is one past the largest safe integer.
    expect(thrown(() => reader('8080808080808010').readVarintNumber('dims')).message).toContain(
      'value 9007199254740992 is not a non-negative integer below 2^53',
    );
  });

  it('reports byte offsets relative to the whole file inside nested messages', () => {
    // Field 1 holds 3 bytes: a field 2 claiming 9 bytes of which 1 exists.
    const nestedSource = reader('0a031209aa');
    nestedSource.readTag();
    const nested = nestedSource.readMessage('child', 'ChildProto');
    nested.readTag();
    expect(thrown(() => nested.readBytes('payload')).message).toBe(
      'model.onnx: ChildProto field payload (byte 4): needs 9 bytes, only 1 are left in the message',
    );
  });

  it('skips every wire type it knows', () => {
    // varint, fixed64, length-delimited, fixed32, then a varint field 6 = 7.
    const source = reader('08960111010203040506070812020102' + '1d01020304' + '3007');
    for (let index = 0; index < 4; index++) {
      source.skip(source.readTag());
    }
    expect(source.readTag()).toEqual({ field: 6, wireType: 0 });
    expect(source.readVarintNumber('value')).toBe(7);
    expect(source.atEnd).toBe(true);
  });
});

describe('readRepeated', () => {
  it('reads packed and unpacked encodings of the same values', () => {
    const values: number[] = [];
    // Unpacked: 08 01, 08 96 01. Packed: 0a 03 02 96 01.
    const source = reader('0801089601' + '0a03029601');
    while (!source.atEnd) {
      readRepeated(source, source.readTag(), 0, 'dims', (item) => item.readVarintNumber('dims'), values);
    }
    expect(values).toEqual([1, 150, 2, 150]);
  });
});
