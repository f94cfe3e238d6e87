import { InvalidArgumentError } from '@ptq/errors';
import { encodeSafetensorsHeader, type HeaderEntry } from './encode-safetensors-header';
import { writeFully } from './file-handle-io';
import { HEADER_LENGTH_BYTES, MAX_HEADER_LENGTH } from './parse-safetensors-header';
import { compareForLayout, type PreparedTensor, prepareTensors, type TensorEntries } from './prepare-tensors';
import { writeFileAtomically } from './write-file-atomically';

export interface WriteSafetensorsOptions {
  /** Written as the header's `__metadata__`; string values only, as the format requires. */
  metadata?: Readonly<Record<string, string>>;
}

/**
 * Writes tensors to a safetensors file atomically. The header is computed from dtypes and shapes
 * first, then each tensor's bytes are written straight from its typed array, so memory use does not
 * grow with the file. Tensors are laid out widest dtype first, then by name (see `compareForLayout`).
 */
export async function writeSafetensors(
  path: string,
  tensors: TensorEntries,
  options: WriteSafetensorsOptions = {},
): Promise<void> {
  const metadata = checkMetadata(options.metadata);
  await writePreparedSafetensors(path, await prepareTensors(tensors), metadata);
}

/** Writes tensors that `prepareTensors` already checked. */
export async function writePreparedSafetensors(
  path: string,
  tensors: readonly PreparedTensor[],
  metadata: Readonly<Record<string, string>> | undefined,
): Promise<void> {
  const ordered = [...tensors].sort(compareForLayout);
  const header = checkedHeader(
    ordered.map(({ name, dtype, shape, bytes }) => ({ name, dtype, shape, byteLength: bytes.byteLength })),
    metadata,
  );
  await writeFileAtomically(path, async (handle) => {
    await writeFully(handle, header);
    for (const tensor of ordered) {
      await writeFully(handle, tensor.bytes);
    }
  });
}

/** The header for entries in layout order, refused when it would pass what readers accept. */
export function checkedHeader(
  ordered: readonly HeaderEntry[],
  metadata: Readonly<Record<string, string>> | undefined,
): Uint8Array {
  const header = encodeSafetensorsHeader(ordered, metadata);
  if (header.byteLength - HEADER_LENGTH_BYTES > MAX_HEADER_LENGTH) {
    throw new InvalidArgumentError(
      'tensors',
      `the header for ${ordered.length} tensors would be ${header.byteLength - HEADER_LENGTH_BYTES} bytes, over MAX_HEADER_LENGTH (${MAX_HEADER_LENGTH}); write a sharded checkpoint`,
    );
  }
  return header;
}

/** Checks user metadata is string → string; returns it unchanged. */
export function checkMetadata(
  metadata: Readonly<Record<string, string>> | undefined,
): Readonly<Record<string, string>> | undefined {
  if (metadata === undefined) return undefined;
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) {
    throw new InvalidArgumentError('metadata', 'must be an object of string values');
  }
  for (const [key, value] of Object.entries(metadata)) {
    if (typeof value !== 'string') {
      throw new InvalidArgumentError(
        'metadata',
        `value of ${JSON.stringify(key)} must be a string (the safetensors format allows no other type), got ${typeof value}`,
      );
    }
  }
  return metadata;
}
