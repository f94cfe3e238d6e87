import { type DuplicateJsonKey, findDuplicateJsonKey } from './find-duplicate-json-key';
import { isPlainObject } from './is-plain-object';
import { quoteName } from './quote-name';
import {
  isSafetensorsDType,
  SAFETENSORS_DTYPE_BYTES,
  SAFETENSORS_DTYPES,
  type SafetensorsDType,
} from './safetensors-dtype';
import { SafetensorsFormatError } from './safetensors-errors';

/** Bytes of the little-endian u64 that precedes the JSON header. */
export const HEADER_LENGTH_BYTES = 8;
/** Largest JSON header accepted, the limit Python's `safetensors` enforces too. */
export const MAX_HEADER_LENGTH = 100_000_000;
/** Largest single dimension accepted (huggingface.js's `MAX_TENSOR_DIM`). */
export const MAX_TENSOR_DIMENSION = 2 ** 32;
/** Highest rank accepted; no checkpoint ptq reads goes past 4. */
export const MAX_TENSOR_RANK = 8;

export const METADATA_KEY = '__metadata__';

/** Where one tensor lives in its file. */
export interface TensorInfo {
  /** The dtype as the safetensors header spells it. */
  readonly dtype: SafetensorsDType;
  readonly shape: readonly number[];
  /** Offset of the tensor's first byte from the start of the file (not of the data buffer). */
  readonly byteOffset: number;
  readonly byteLength: number;
}

export interface SafetensorsHeader {
  readonly metadata: Readonly<Record<string, string>>;
  /** In the order of the header JSON. */
  readonly tensors: ReadonlyMap<string, TensorInfo>;
}

/** Reads the u64 header length and checks it against the limit and the file size. */
export function parseHeaderLength(file: string, prefix: Uint8Array, fileSize: number): number {
  if (fileSize < HEADER_LENGTH_BYTES || prefix.byteLength < HEADER_LENGTH_BYTES) {
    throw new SafetensorsFormatError(
      file,
      `file is ${fileSize} bytes, shorter than the ${HEADER_LENGTH_BYTES}-byte header length that starts every safetensors file`,
    );
  }
  // A u64 can exceed 2^53: compare as bigint before it becomes a number.
  const length = new DataView(prefix.buffer, prefix.byteOffset, HEADER_LENGTH_BYTES).getBigUint64(0, true);
  if (length > BigInt(MAX_HEADER_LENGTH)) {
    throw new SafetensorsFormatError(
      file,
      `header length ${length} exceeds the limit of ${MAX_HEADER_LENGTH} bytes (MAX_HEADER_LENGTH)`,
    );
  }
  const available = fileSize - HEADER_LENGTH_BYTES;
  if (length > BigInt(available)) {
    throw new SafetensorsFormatError(
      file,
      `header length ${length} runs past the end of the file: only ${available} bytes follow the ${HEADER_LENGTH_BYTES}-byte length (file truncated?)`,
    );
  }
  return Number(length);
}

/**
 * Parses and validates the JSON header as Python's and Rust's `safetensors` do. Offsets are the only
 * ground truth the format gives, so every entry is checked against the data buffer size and its own
 * dtype and shape, and the entries together must tile the data buffer exactly: no name twice, no
 * gap, no overlap, no byte after the last tensor.
 */
export function parseSafetensorsHeader(
  file: string,
  headerBytes: Uint8Array,
  fileSize: number,
): SafetensorsHeader {
  const dataStart = HEADER_LENGTH_BYTES + headerBytes.byteLength;
  const bufferSize = fileSize - dataStart;
  const header = parseJsonObject(file, headerBytes);

  let metadata: Record<string, string> = {};
  const tensors = new Map<string, TensorInfo>();
  const ranges: { name: string; begin: number; end: number }[] = [];
  for (const [name, entry] of Object.entries(header)) {
    if (name === METADATA_KEY) {
      metadata = parseMetadata(file, entry);
      continue;
    }
    const { dtype, shape, begin, end } = parseEntry(file, name, entry, bufferSize);
    tensors.set(name, { dtype, shape, byteOffset: dataStart + begin, byteLength: end - begin });
    ranges.push({ name, begin, end });
  }
  checkBufferTiling(file, ranges, bufferSize);
  return { metadata, tensors };
}

function parseJsonObject(file: string, headerBytes: Uint8Array): Record<string, unknown> {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(headerBytes);
  } catch (error) {
    throw new SafetensorsFormatError(file, 'header is not valid UTF-8', { cause: error });
  }
  let header: unknown;
  try {
    // JSON.parse accepts the trailing spaces writers pad the header with.
    header = JSON.parse(text);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new SafetensorsFormatError(file, `header is not valid JSON (${reason})`, { cause: error });
  }
  if (!isPlainObject(header)) {
    throw new SafetensorsFormatError(file, `header must be a JSON object, got ${describe(header)}`);
  }
  const duplicate = findDuplicateJsonKey(text);
  if (duplicate !== undefined) {
    throw new SafetensorsFormatError(file, describeDuplicate(duplicate));
  }
  return header;
}

/** Which entry a duplicate key makes ambiguous: JSON.parse would keep the last one without a word. */
function describeDuplicate({ path, key }: DuplicateJsonKey): string {
  const quoted = quoteName(key);
  if (path.length === 0) {
    return key === METADATA_KEY
      ? `header holds ${METADATA_KEY} twice`
      : `header holds tensor ${quoted} twice; which entry is meant is ambiguous`;
  }
  if (path.length === 1) {
    return path[0] === METADATA_KEY
      ? `${METADATA_KEY} holds key ${quoted} twice`
      : `tensor ${quoteName(String(path[0]))}: its entry holds ${quoted} twice`;
  }
  const where = path.map((step) => `[${typeof step === 'number' ? step : quoteName(step)}]`).join('');
  return `header${where} holds key ${quoted} twice`;
}

function parseMetadata(file: string, value: unknown): Record<string, string> {
  if (!isPlainObject(value)) {
    throw new SafetensorsFormatError(
      file,
      `${METADATA_KEY} must be an object of string values, got ${describe(value)}`,
    );
  }
  for (const [key, item] of Object.entries(value)) {
    if (typeof item !== 'string') {
      throw new SafetensorsFormatError(
        file,
        `${METADATA_KEY}[${quoteName(key)}] must be a string, got ${describe(item)}`,
      );
    }
  }
  // fromEntries defines own properties, so a key like "__proto__" stays a plain key.
  return Object.fromEntries(Object.entries(value)) as Record<string, string>;
}

interface ParsedEntry {
  dtype: SafetensorsDType;
  shape: number[];
  begin: number;
  end: number;
}

function parseEntry(file: string, name: string, entry: unknown, bufferSize: number): ParsedEntry {
  const where = `tensor ${quoteName(name)}`;
  if (!isPlainObject(entry)) {
    throw new SafetensorsFormatError(
      file,
      `${where}: entry must be an object with dtype, shape and data_offsets, got ${describe(entry)}`,
    );
  }
  const { dtype, shape, data_offsets: offsets } = entry;
  if (!isSafetensorsDType(dtype)) {
    throw new SafetensorsFormatError(
      file,
      `${where}: dtype ${describe(dtype)} is not a safetensors dtype (${SAFETENSORS_DTYPES.join(', ')})`,
    );
  }
  if (!Array.isArray(shape) || shape.length > MAX_TENSOR_RANK) {
    throw new SafetensorsFormatError(
      file,
      `${where}: shape must be an array of at most ${MAX_TENSOR_RANK} dimensions, got ${describe(shape)}`,
    );
  }
  shape.forEach((dimension: unknown, index) => {
    if (!isIntegerInRange(dimension, MAX_TENSOR_DIMENSION)) {
      throw new SafetensorsFormatError(
        file,
        `${where}: shape[${index}] must be an integer in [0, ${MAX_TENSOR_DIMENSION}], got ${describe(dimension)}`,
      );
    }
  });
  if (
    !Array.isArray(offsets) ||
    offsets.length !== 2 ||
    !isIntegerInRange(offsets[0], Number.MAX_SAFE_INTEGER) ||
    !isIntegerInRange(offsets[1], Number.MAX_SAFE_INTEGER)
  ) {
    throw new SafetensorsFormatError(
      file,
      `${where}: data_offsets must be [begin, end], two non-negative integers, got ${describe(offsets)}`,
    );
  }
  const [begin, end] = offsets as [number, number];
  if (begin > end) {
    throw new SafetensorsFormatError(file, `${where}: data_offsets [${begin}, ${end}] begin after end`);
  }
  if (end > bufferSize) {
    throw new SafetensorsFormatError(
      file,
      `${where}: data_offsets [${begin}, ${end}] end past the ${bufferSize}-byte data buffer (file truncated?)`,
    );
  }
  // bigint: a shape of large dimensions can overflow 2^53 before it is compared.
  const elementCount = (shape as number[]).reduce((count, dimension) => count * BigInt(dimension), 1n);
  const bytesPerElement = SAFETENSORS_DTYPE_BYTES[dtype];
  const expected = elementCount * BigInt(bytesPerElement);
  if (expected !== BigInt(end - begin)) {
    throw new SafetensorsFormatError(
      file,
      `${where}: data_offsets [${begin}, ${end}] span ${end - begin} bytes, but ${dtype} of shape [${shape.join(', ')}] needs ${expected} (${elementCount} elements × ${bytesPerElement} bytes)`,
    );
  }
  return { dtype, shape: [...(shape as number[])], begin, end };
}

/**
 * The entries, sorted by offsets, must each start where the one before ended (the first at 0) and
 * the last must end at the end of the file, as Rust `safetensors`' `Metadata::validate` requires:
 * a gap or trailing bytes are data no tensor owns, an overlap is bytes two tensors claim.
 */
function checkBufferTiling(
  file: string,
  ranges: { name: string; begin: number; end: number }[],
  bufferSize: number,
): void {
  // Stable sort: entries with equal offsets stay in header order, so errors name them in that order.
  const sorted = [...ranges].sort((left, right) => left.begin - right.begin || left.end - right.end);
  let previous: { name: string; begin: number; end: number } | undefined;
  for (const current of sorted) {
    const expected = previous?.end ?? 0;
    if (current.begin > expected) {
      const after =
        previous === undefined
          ? `before the first tensor ${describeRange(current)}`
          : `between ${describeRange(previous)} and ${describeRange(current)}`;
      throw new SafetensorsFormatError(
        file,
        `bytes [${expected}, ${current.begin}) of the data buffer belong to no tensor: a gap ${after} (data_offsets must cover the buffer without gaps)`,
      );
    }
    if (current.begin < expected) {
      // Sorted, so `previous` is the entry whose end `current` starts before.
      const other = previous as { name: string; begin: number; end: number };
      throw new SafetensorsFormatError(
        file,
        current.begin === current.end
          ? `empty tensor ${describeRange(current)} sits inside ${describeRange(other)}; data_offsets must follow one another`
          : `tensors ${describeRange(other)} and ${describeRange(current)} overlap in data_offsets`,
      );
    }
    previous = current;
  }
  const end = previous?.end ?? 0;
  if (end !== bufferSize) {
    const count = `${bufferSize - end} byte${bufferSize - end === 1 ? '' : 's'} [${end}, ${bufferSize})`;
    throw new SafetensorsFormatError(
      file,
      previous === undefined
        ? `the data buffer holds ${count} but the header lists no tensor`
        : `the data buffer ends with ${count} that no tensor holds, after the last tensor ${describeRange(previous)} (the last tensor must end at the end of the file)`,
    );
  }
}

function describeRange({ name, begin, end }: { name: string; begin: number; end: number }): string {
  return `${quoteName(name)} [${begin}, ${end}]`;
}

function isIntegerInRange(value: unknown, maximum: number): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 && value <= maximum;
}

/** A short description of a JSON value for error messages, never the whole header. */
function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  const text = JSON.stringify(value);
  const kind = Array.isArray(value) ? 'array' : typeof value;
  return `${kind} ${text.length > 60 ? `${text.slice(0, 57)}...` : text}`;
}
