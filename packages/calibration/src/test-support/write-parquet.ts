// A minimal parquet writer for tests, written from the format specification (parquet-format's
// parquet.thrift and the Thrift compact protocol), independent of the reader under test: one
// uncompressed PLAIN data page (v1) per column chunk, OPTIONAL or REQUIRED flat columns.

export type ParquetColumnType = 'string' | 'binary' | 'int64';

export interface ParquetColumn {
  name: string;
  type: ParquetColumnType;
  /** OPTIONAL (nullable, with definition levels) as pyarrow writes; else REQUIRED. @default true */
  optional?: boolean;
}

export interface WriteParquetOptions {
  columns: ParquetColumn[];
  rows: Record<string, string | Uint8Array | bigint | null>[];
  /** Rows per row group. @default all rows in one */
  rowGroupSize?: number;
}

// Thrift compact protocol type ids.
const CompactType = { I32: 5, I64: 6, Binary: 8, List: 9, Struct: 12 } as const;
type CompactType = (typeof CompactType)[keyof typeof CompactType];

// parquet.thrift enums
const PHYSICAL_TYPE = { string: 6, binary: 6, int64: 2 } as const; // BYTE_ARRAY = 6, INT64 = 2
const CONVERTED_TYPE_UTF8 = 0;
const REPETITION_REQUIRED = 0;
const REPETITION_OPTIONAL = 1;
const ENCODING_PLAIN = 0;
const ENCODING_RLE = 3;
const PAGE_TYPE_DATA_PAGE = 0;
const CODEC_UNCOMPRESSED = 0;

class CompactWriter {
  readonly bytes: number[] = [];
  private readonly lastFieldIds: number[] = [0];

  private varint(value: bigint): void {
    let rest = value;
    while (rest >= 0x80n) {
      this.bytes.push(Number(rest & 0x7fn) | 0x80);
      rest >>= 7n;
    }
    this.bytes.push(Number(rest));
  }

  private zigzag(value: number | bigint): void {
    const big = BigInt(value);
    this.varint(big >= 0n ? big * 2n : -big * 2n - 1n);
  }

  private header(id: number, type: CompactType): void {
    const last = this.lastFieldIds[this.lastFieldIds.length - 1] ?? 0;
    const delta = id - last;
    if (delta > 0 && delta <= 15) {
      this.bytes.push((delta << 4) | type);
    } else {
      this.bytes.push(type);
      this.zigzag(id);
    }
    this.lastFieldIds[this.lastFieldIds.length - 1] = id;
  }

  i32(id: number, value: number): this {
    this.header(id, CompactType.I32);
    this.zigzag(value);
    return this;
  }

  i64(id: number, value: number | bigint): this {
    this.header(id, CompactType.I64);
    this.zigzag(value);
    return this;
  }

  binary(id: number, value: string | Uint8Array): this {
    this.header(id, CompactType.Binary);
    this.rawBinary(value);
    return this;
  }

  private rawBinary(value: string | Uint8Array): void {
    const bytes = typeof value === 'string' ? new TextEncoder().encode(value) : value;
    this.varint(BigInt(bytes.length));
    this.bytes.push(...bytes);
  }

  private listHeader(count: number, type: CompactType): void {
    if (count < 15) {
      this.bytes.push((count << 4) | type);
    } else {
      this.bytes.push(0xf0 | type);
      this.varint(BigInt(count));
    }
  }

  i32List(id: number, values: number[]): this {
    this.header(id, CompactType.List);
    this.listHeader(values.length, CompactType.I32);
    for (const value of values) this.zigzag(value);
    return this;
  }

  binaryList(id: number, values: string[]): this {
    this.header(id, CompactType.List);
    this.listHeader(values.length, CompactType.Binary);
    for (const value of values) this.rawBinary(value);
    return this;
  }

  struct(id: number, body: (writer: this) => void): this {
    this.header(id, CompactType.Struct);
    this.structBody(body);
    return this;
  }

  structList<T>(id: number, items: T[], body: (writer: this, item: T) => void): this {
    this.header(id, CompactType.List);
    this.listHeader(items.length, CompactType.Struct);
    for (const item of items) this.structBody((writer) => body(writer, item));
    return this;
  }

  private structBody(body: (writer: this) => void): void {
    this.lastFieldIds.push(0);
    body(this);
    this.bytes.push(0); // STOP
    this.lastFieldIds.pop();
  }
}

function uint32LittleEndian(value: number): number[] {
  return [value & 0xff, (value >>> 8) & 0xff, (value >>> 16) & 0xff, (value >>> 24) & 0xff];
}

/** RLE/bit-packed hybrid of 0/1 definition levels (bit width 1), as RLE runs, with its 4-byte length. */
function definitionLevels(levels: number[]): number[] {
  const runs: number[] = [];
  let start = 0;
  while (start < levels.length) {
    let end = start;
    while (end < levels.length && levels[end] === levels[start]) end++;
    const header: number[] = [];
    let value = (end - start) << 1;
    do {
      header.push((value & 0x7f) | (value >= 0x80 ? 0x80 : 0));
      value >>>= 7;
    } while (value > 0);
    runs.push(...header, levels[start] ?? 0);
    start = end;
  }
  return [...uint32LittleEndian(runs.length), ...runs];
}

function plainValues(column: ParquetColumn, values: (string | Uint8Array | bigint)[]): number[] {
  const bytes: number[] = [];
  for (const value of values) {
    if (column.type === 'int64') {
      const view = new DataView(new ArrayBuffer(8));
      view.setBigInt64(0, BigInt(value as bigint), true);
      bytes.push(...new Uint8Array(view.buffer));
    } else {
      const encoded = typeof value === 'string' ? new TextEncoder().encode(value) : (value as Uint8Array);
      bytes.push(...uint32LittleEndian(encoded.length), ...encoded);
    }
  }
  return bytes;
}

interface WrittenChunk {
  column: ParquetColumn;
  offset: number;
  size: number;
  numValues: number;
}

/** Encodes a parquet file in memory. */
export function writeParquet(options: WriteParquetOptions): Uint8Array {
  const { columns, rows } = options;
  const groupSize = options.rowGroupSize ?? Math.max(rows.length, 1);
  const out: number[] = [...new TextEncoder().encode('PAR1')];
  const rowGroups: { chunks: WrittenChunk[]; numRows: number }[] = [];

  for (let start = 0; start < rows.length || (start === 0 && rows.length === 0); start += groupSize) {
    const group = rows.slice(start, start + groupSize);
    const chunks: WrittenChunk[] = [];
    for (const column of columns) {
      const optional = column.optional ?? true;
      const cells = group.map((row) => row[column.name] ?? null);
      if (!optional && cells.some((cell) => cell === null))
        throw new Error(`required column ${column.name} has a null`);
      const present = cells.filter((cell) => cell !== null);
      const data = [
        ...(optional ? definitionLevels(cells.map((cell) => (cell === null ? 0 : 1))) : []),
        ...plainValues(column, present),
      ];
      const header = new CompactWriter()
        .i32(1, PAGE_TYPE_DATA_PAGE)
        .i32(2, data.length)
        .i32(3, data.length)
        .struct(5, (page) =>
          page.i32(1, cells.length).i32(2, ENCODING_PLAIN).i32(3, ENCODING_RLE).i32(4, ENCODING_RLE),
        ).bytes;
      header.push(0); // STOP of PageHeader
      const offset = out.length;
      out.push(...header, ...data);
      chunks.push({ column, offset, size: header.length + data.length, numValues: cells.length });
    }
    rowGroups.push({ chunks, numRows: group.length });
    if (rows.length === 0) break;
  }

  const metadata = new CompactWriter()
    .i32(1, 1)
    .structList(2, [undefined, ...columns], (element, column) => {
      if (column === undefined) {
        element.binary(4, 'schema').i32(5, columns.length);
        return;
      }
      element.i32(1, PHYSICAL_TYPE[column.type]);
      element.i32(3, (column.optional ?? true) ? REPETITION_OPTIONAL : REPETITION_REQUIRED);
      element.binary(4, column.name);
      if (column.type === 'string') element.i32(6, CONVERTED_TYPE_UTF8);
    })
    .i64(3, rows.length)
    .structList(4, rowGroups, (rowGroup, group) => {
      rowGroup.structList(1, group.chunks, (chunk, written) => {
        chunk
          .i64(2, written.offset)
          .struct(3, (meta) =>
            meta
              .i32(1, PHYSICAL_TYPE[written.column.type])
              .i32List(2, [ENCODING_PLAIN, ENCODING_RLE])
              .binaryList(3, [written.column.name])
              .i32(4, CODEC_UNCOMPRESSED)
              .i64(5, written.numValues)
              .i64(6, written.size)
              .i64(7, written.size)
              .i64(9, written.offset),
          );
      });
      rowGroup
        .i64(
          2,
          group.chunks.reduce((sum, chunk) => sum + chunk.size, 0),
        )
        .i64(3, group.numRows);
    })
    .binary(6, 'ptq test writer').bytes;
  metadata.push(0); // STOP of FileMetaData
  out.push(...metadata, ...uint32LittleEndian(metadata.length), ...new TextEncoder().encode('PAR1'));
  return new Uint8Array(out);
}
