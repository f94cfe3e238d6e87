import { Buffer } from 'node:buffer';

/** Protobuf wire types (protobuf encoding spec). */
export const WireType = {
  varint: 0,
  fixed64: 1,
  lengthDelimited: 2,
  fixed32: 5,
} as const;

/**
 * The field-level operations a message encoder performs. Each message is written once, against
 * this interface, and run twice: by a `ProtobufSizer` that measures every length-delimited field,
 * then by a `ProtobufWriter` that writes into one buffer of exactly that size. No message objects
 * are built and no bytes are copied more than once.
 */
export interface ProtobufSink {
  /** int32 / int64 / enum. Negative values take 10 bytes (two's complement), as protobuf requires. */
  varint(field: number, value: number | bigint): void;
  /** A 32-bit float (`float` fields, fixed32 wire type). */
  float(field: number, value: number): void;
  string(field: number, value: string): void;
  bytes(field: number, value: Uint8Array): void;
  /** A nested message whose fields `body` writes. */
  message(field: number, body: () => void): void;
}

const TWO_POW_64 = 2n ** 64n;

/** Bytes a varint takes. */
export function varintSize(value: number | bigint): number {
  if (typeof value === 'number' && value >= 0 && value <= Number.MAX_SAFE_INTEGER) {
    let size = 1;
    while (value >= 128) {
      value = Math.floor(value / 128);
      size++;
    }
    return size;
  }
  let unsigned = BigInt(value);
  if (unsigned < 0n) {
    unsigned += TWO_POW_64;
  }
  let size = 1;
  while (unsigned >= 128n) {
    unsigned >>= 7n;
    size++;
  }
  return size;
}

function tagSize(field: number): number {
  return varintSize(field * 8);
}

/** First pass: measures. Records each string and message length in visiting order for the writer. */
export class ProtobufSizer implements ProtobufSink {
  /** Byte length of everything measured so far. */
  size = 0;
  /** Lengths of strings and nested messages, in the order the writer will meet them. */
  readonly lengths: number[] = [];

  varint(field: number, value: number | bigint): void {
    this.size += tagSize(field) + varintSize(value);
  }

  float(field: number): void {
    this.size += tagSize(field) + 4;
  }

  string(field: number, value: string): void {
    const length = Buffer.byteLength(value, 'utf8');
    this.lengths.push(length);
    this.size += tagSize(field) + varintSize(length) + length;
  }

  bytes(field: number, value: Uint8Array): void {
    this.size += tagSize(field) + varintSize(value.byteLength) + value.byteLength;
  }

  message(field: number, body: () => void): void {
    const slot = this.lengths.length;
    this.lengths.push(0);
    const start = this.size;
    body();
    const length = this.size - start;
    this.lengths[slot] = length;
    this.size += tagSize(field) + varintSize(length);
  }
}

/** Second pass: writes into a buffer sized by the sizer, taking lengths from its record. */
export class ProtobufWriter implements ProtobufSink {
  readonly buffer: Uint8Array;
  readonly #view: DataView;
  readonly #lengths: readonly number[];
  #nextLength = 0;
  position = 0;

  /** `target`, when given, takes the bytes instead of a new array: exactly the measured size. */
  constructor(sizer: ProtobufSizer, target?: Uint8Array) {
    if (target !== undefined && target.byteLength !== sizer.size) {
      throw new Error(`protobuf writer: the target must be the measured ${sizer.size} bytes`);
    }
    this.buffer = target ?? new Uint8Array(sizer.size);
    this.#view = new DataView(this.buffer.buffer, this.buffer.byteOffset, this.buffer.byteLength);
    this.#lengths = sizer.lengths;
  }

  varint(field: number, value: number | bigint): void {
    this.#writeTag(field, WireType.varint);
    this.#writeVarint(value);
  }

  float(field: number, value: number): void {
    this.#writeTag(field, WireType.fixed32);
    this.#view.setFloat32(this.position, value, true);
    this.position += 4;
  }

  string(field: number, value: string): void {
    const length = this.#takeLength();
    this.#writeTag(field, WireType.lengthDelimited);
    this.#writeVarint(length);
    const { written } = textEncoder.encodeInto(
      value,
      this.buffer.subarray(this.position, this.position + length),
    );
    if (written !== length) {
      throw new Error(`protobuf writer: string measured as ${length} bytes, wrote ${written}`);
    }
    this.position += length;
  }

  bytes(field: number, value: Uint8Array): void {
    this.#writeTag(field, WireType.lengthDelimited);
    this.#writeVarint(value.byteLength);
    this.buffer.set(value, this.position);
    this.position += value.byteLength;
  }

  message(field: number, body: () => void): void {
    const length = this.#takeLength();
    this.#writeTag(field, WireType.lengthDelimited);
    this.#writeVarint(length);
    const start = this.position;
    body();
    if (this.position - start !== length) {
      // Only reachable if an encoder visits different fields in the two passes: a bug, not bad input.
      throw new Error(
        `protobuf writer: message field ${field} measured ${length} bytes, wrote ${this.position - start}`,
      );
    }
  }

  #takeLength(): number {
    const length = this.#lengths[this.#nextLength++];
    if (length === undefined) {
      throw new Error('protobuf writer: more length-delimited fields than the sizer measured');
    }
    return length;
  }

  #writeTag(field: number, wireType: number): void {
    this.#writeVarint(field * 8 + wireType);
  }

  #writeVarint(value: number | bigint): void {
    const { buffer } = this;
    if (typeof value === 'number' && value >= 0 && value <= Number.MAX_SAFE_INTEGER) {
      while (value >= 128) {
        buffer[this.position++] = (value % 128) | 128;
        value = Math.floor(value / 128);
      }
      buffer[this.position++] = value;
      return;
    }
    let unsigned = BigInt(value);
    if (unsigned < 0n) {
      unsigned += TWO_POW_64;
    }
    while (unsigned >= 128n) {
      buffer[this.position++] = Number(unsigned & 127n) | 128;
      unsigned >>= 7n;
    }
    buffer[this.position++] = Number(unsigned);
  }
}

const textEncoder = new TextEncoder();

/**
 * An array that one serialization after another writes into (grown when one needs more), so that
 * encoding many models of about one size pages in no fresh memory for each. What a serialization
 * returned is valid until the next one into the same `ReusableBytes`.
 */
export interface ReusableBytes {
  bytes?: Uint8Array;
}

/**
 * Runs `encode` against a sizer, hands the measured size to `checkSize` (which may throw before
 * anything is allocated), then runs it against a writer and returns the bytes: in `reuse.bytes` when
 * it is large enough (a view of its start), else in a new array that `reuse` then keeps.
 */
export function encodeMessage(
  encode: (sink: ProtobufSink) => void,
  checkSize: (size: number) => void = () => {},
  reuse?: ReusableBytes,
): Uint8Array {
  const sizer = new ProtobufSizer();
  encode(sizer);
  checkSize(sizer.size);
  let target: Uint8Array | undefined;
  if (reuse !== undefined) {
    if (reuse.bytes === undefined || reuse.bytes.length < sizer.size)
      reuse.bytes = new Uint8Array(sizer.size);
    target = reuse.bytes.subarray(0, sizer.size);
  }
  const writer = new ProtobufWriter(sizer, target);
  encode(writer);
  return writer.buffer;
}
