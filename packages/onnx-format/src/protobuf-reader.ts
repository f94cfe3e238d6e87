import { OnnxFormatError } from './errors';
import { WireType } from './protobuf-writer';

export interface FieldTag {
  readonly field: number;
  readonly wireType: number;
}

const textDecoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Reads protobuf wire format from a byte range. Every length is checked against the bytes left, so
 * a corrupt or truncated message fails with the file, the message, the field and the byte offset.
 * Length-delimited fields come back as views into the input: nothing is copied.
 */
export class ProtobufReader {
  readonly #bytes: Uint8Array;
  readonly #view: DataView;
  readonly #file: string;
  readonly #message: string;
  /** Offset of `bytes[0]` in the whole file, for error messages. */
  readonly #baseOffset: number;
  #position = 0;

  constructor(bytes: Uint8Array, file: string, message: string, baseOffset = 0) {
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.#file = file;
    this.#message = message;
    this.#baseOffset = baseOffset;
  }

  get atEnd(): boolean {
    return this.#position >= this.#bytes.byteLength;
  }

  /** The error for a broken field of this message. */
  error(field: string, problem: string): OnnxFormatError {
    return new OnnxFormatError(
      this.#file,
      `${this.#message} field ${field} (byte ${this.#baseOffset + this.#position}): ${problem}`,
    );
  }

  readTag(): FieldTag {
    const key = this.readVarintNumber('tag');
    const field = Math.floor(key / 8);
    if (field === 0) {
      throw this.error('tag', 'field number 0 is not valid protobuf');
    }
    return { field, wireType: key % 8 };
  }

  /** A varint as its unsigned 64-bit value. */
  readVarintUnsigned(field: string): bigint {
    let result = 0n;
    for (let index = 0; index < 10; index++) {
      if (this.#position >= this.#bytes.byteLength) {
        throw this.error(field, 'varint runs past the end of the message');
      }
      const byte = this.#bytes[this.#position++]!;
      result |= BigInt(byte & 127) << BigInt(7 * index);
      if (byte < 128) {
        return BigInt.asUintN(64, result);
      }
    }
    throw this.error(field, 'varint is longer than 10 bytes');
  }

  /** An int64 varint, sign included. */
  readVarintSigned(field: string): bigint {
    return BigInt.asIntN(64, this.readVarintUnsigned(field));
  }

  /** A varint that must be a non-negative safe integer (lengths, dims, versions, enums). */
  readVarintNumber(field: string): number {
    // Fast path for the one- and two-byte varints that make up nearly every tag and length.
    const first = this.#bytes[this.#position];
    if (first !== undefined && first < 128) {
      this.#position++;
      return first;
    }
    const value = this.readVarintSigned(field);
    if (value < 0n || value > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw this.error(field, `value ${value} is not a non-negative integer below 2^53`);
    }
    return Number(value);
  }

  readFloat(field: string): number {
    this.#need(4, field);
    const value = this.#view.getFloat32(this.#position, true);
    this.#position += 4;
    return value;
  }

  /** A length-delimited field's bytes, as a view into the input. */
  readBytes(field: string): Uint8Array {
    const length = this.readVarintNumber(field);
    this.#need(length, field);
    const bytes = this.#bytes.subarray(this.#position, this.#position + length);
    this.#position += length;
    return bytes;
  }

  readString(field: string): string {
    const bytes = this.readBytes(field);
    try {
      return textDecoder.decode(bytes);
    } catch (cause) {
      throw this.error(field, `string is not valid UTF-8 (${String(cause)})`);
    }
  }

  /** A reader over a nested message. */
  readMessage(field: string, message: string): ProtobufReader {
    const bytes = this.readBytes(field);
    const start = this.#baseOffset + this.#position - bytes.byteLength;
    return new ProtobufReader(bytes, this.#file, message, start);
  }

  /** Checks a field's wire type before reading it. */
  expectWireType(tag: FieldTag, expected: number, field: string): void {
    if (tag.wireType !== expected) {
      throw this.error(field, `wire type ${tag.wireType}, expected ${expected}`);
    }
  }

  /** Skips a field this decoder does not need. */
  skip(tag: FieldTag): void {
    switch (tag.wireType) {
      case WireType.varint:
        this.readVarintUnsigned(`#${tag.field}`);
        return;
      case WireType.fixed64:
        this.#need(8, `#${tag.field}`);
        this.#position += 8;
        return;
      case WireType.lengthDelimited:
        this.readBytes(`#${tag.field}`);
        return;
      case WireType.fixed32:
        this.#need(4, `#${tag.field}`);
        this.#position += 4;
        return;
      default:
        throw this.error(`#${tag.field}`, `unsupported wire type ${tag.wireType}`);
    }
  }

  #need(length: number, field: string): void {
    const left = this.#bytes.byteLength - this.#position;
    if (length > left) {
      throw this.error(field, `needs ${length} bytes, only ${left} are left in the message`);
    }
  }
}

/**
 * Reads a repeated numeric field that may be packed (one length-delimited run) or unpacked (one
 * tag per value): protobuf parsers must accept both.
 */
export function readRepeated<T>(
  reader: ProtobufReader,
  tag: FieldTag,
  scalarWireType: number,
  field: string,
  readOne: (source: ProtobufReader) => T,
  into: T[],
): void {
  if (tag.wireType === WireType.lengthDelimited) {
    const packed = reader.readMessage(field, `packed ${field}`);
    while (!packed.atEnd) {
      into.push(readOne(packed));
    }
    return;
  }
  reader.expectWireType(tag, scalarWireType, field);
  into.push(readOne(reader));
}
