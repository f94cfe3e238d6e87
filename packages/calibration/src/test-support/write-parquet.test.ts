import { parquetMetadata, parquetReadObjects } from 'hyparquet';
import { describe, expect, it } from 'vitest';
import { writeParquet } from './write-parquet';

describe('writeParquet (test support)', () => {
  it('writes files hyparquet reads back: nulls, row groups, every column type', async () => {
    const rows = Array.from({ length: 40 }, (_, index) => ({
      text: index % 7 === 3 ? null : `row ${index} ${'é'.repeat(index)}`,
      id: BigInt(index * 1000),
      raw: new Uint8Array([index]),
    }));
    const bytes = writeParquet({
      columns: [
        { name: 'text', type: 'string' },
        { name: 'id', type: 'int64', optional: false },
        { name: 'raw', type: 'binary' },
      ],
      rows,
      rowGroupSize: 16,
    });
    const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    const metadata = parquetMetadata(file);
    expect(metadata.num_rows).toBe(40n);
    expect(metadata.row_groups.map((group) => group.num_rows)).toEqual([16n, 16n, 8n]);
    const read = await parquetReadObjects({ file });
    expect(read.map((row) => row.text)).toEqual(rows.map((row) => row.text));
    expect(read.map((row) => row.id)).toEqual(rows.map((row) => row.id));
    // Without a UTF8 annotation the bytes come back raw once hyparquet's utf8 guess is off.
    const raw = await parquetReadObjects({ file, columns: ['raw'], utf8: false });
    expect(raw.map((row) => [...(row.raw as Uint8Array)])).toEqual(rows.map((row) => [...row.raw]));
  });
});
