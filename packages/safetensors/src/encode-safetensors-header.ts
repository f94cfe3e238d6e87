import { HEADER_LENGTH_BYTES, METADATA_KEY } from './parse-safetensors-header';
import type { SafetensorsDType } from './safetensors-dtype';

export interface HeaderEntry {
  readonly name: string;
  readonly dtype: SafetensorsDType;
  readonly shape: readonly number[];
  readonly byteLength: number;
}

/**
 * The 8-byte length and JSON header for tensors laid out back to back in the given order. The JSON is
 * padded with spaces to a multiple of 8 bytes, as Python's `safetensors` does, so the data buffer
 * starts 8-byte aligned.
 */
export function encodeSafetensorsHeader(
  entries: readonly HeaderEntry[],
  metadata?: Readonly<Record<string, string>>,
): Uint8Array {
  // Built by hand: JSON.stringify of one object would move integer-like tensor names ("0") first.
  const members: string[] = [];
  if (metadata !== undefined) {
    members.push(`${JSON.stringify(METADATA_KEY)}:${JSON.stringify(metadata)}`);
  }
  let offset = 0;
  for (const { name, dtype, shape, byteLength } of entries) {
    const entry = { dtype, shape, data_offsets: [offset, offset + byteLength] };
    members.push(`${JSON.stringify(name)}:${JSON.stringify(entry)}`);
    offset += byteLength;
  }
  const json = new TextEncoder().encode(`{${members.join(',')}}`);
  const paddedLength = Math.ceil(json.byteLength / HEADER_LENGTH_BYTES) * HEADER_LENGTH_BYTES;
  const bytes = new Uint8Array(HEADER_LENGTH_BYTES + paddedLength).fill(
    0x20,
    HEADER_LENGTH_BYTES + json.byteLength,
  );
  new DataView(bytes.buffer).setBigUint64(0, BigInt(paddedLength), true);
  bytes.set(json, HEADER_LENGTH_BYTES);
  return bytes;
}
