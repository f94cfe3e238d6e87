import { InvalidArgumentError } from '@ptq/errors';
import { createTensor, DTYPES, type DType, type Tensor, tensorBytes } from '@ptq/tensor';
import { MAX_TENSOR_DIMENSION, MAX_TENSOR_RANK, METADATA_KEY } from './parse-safetensors-header';
import { type SafetensorsDType, toSafetensorsDType } from './safetensors-dtype';
import { UnsupportedDTypeError } from './safetensors-errors';

/** Tensors to write: an object, or (async) iterable name/tensor pairs such as a `Map` or a generator. */
export type TensorEntries =
  | Readonly<Record<string, Tensor>>
  | Iterable<readonly [string, Tensor]>
  | AsyncIterable<readonly [string, Tensor]>;

/** A tensor checked for writing, with its safetensors dtype and the bytes that go into the file. */
export interface PreparedTensor {
  readonly name: string;
  readonly dtype: SafetensorsDType;
  readonly shape: readonly number[];
  readonly bytes: Uint8Array;
}

/**
 * Collects and checks every tensor before anything is written, so a bad tensor anywhere in the
 * input fails the write before a byte reaches the disk. Tensors are held by reference, never copied.
 * The result is sorted by name.
 */
export async function prepareTensors(entries: TensorEntries): Promise<PreparedTensor[]> {
  const prepared = new Map<string, PreparedTensor>();
  for await (const entry of toIterable(entries)) {
    if (!Array.isArray(entry) || entry.length !== 2) {
      throw new InvalidArgumentError('tensors', 'entries must be [name, tensor] pairs');
    }
    const [name, tensor] = entry as [unknown, unknown];
    if (typeof name !== 'string') {
      throw new InvalidArgumentError('tensors', `tensor names must be strings, got ${typeof name}`);
    }
    if (name === METADATA_KEY) {
      throw new InvalidArgumentError(
        'tensors',
        `"${METADATA_KEY}" is reserved for metadata, not a tensor name`,
      );
    }
    if (prepared.has(name)) {
      throw new InvalidArgumentError('tensors', `tensor ${JSON.stringify(name)} appears twice`);
    }
    prepared.set(name, prepareTensor(name, tensor));
  }
  return [...prepared.values()].sort((left, right) => compareNames(left.name, right.name));
}

/**
 * Python's `safetensors` ranks dtypes in this order (its `Dtype` enum, "in increasing alignment
 * order") and writes the highest rank first, then by name. Doing the same makes our files
 * byte-identical to its own, and, as the data buffer starts on an 8-byte boundary, starts every
 * tensor on a multiple of its element size, which zero-copy (mmap) readers need.
 */
const PYTHON_DTYPE_RANK: readonly SafetensorsDType[] = [
  'BOOL',
  'U8',
  'I8',
  'F8_E5M2',
  'F8_E4M3',
  'I16',
  'U16',
  'F16',
  'BF16',
  'I32',
  'U32',
  'F32',
  'F64',
  'I64',
  'U64',
];

/** The order tensors take in a file: Python's dtype rank, highest first, then by name. */
export function compareForLayout(
  left: Pick<PreparedTensor, 'name' | 'dtype'>,
  right: Pick<PreparedTensor, 'name' | 'dtype'>,
): number {
  return (
    PYTHON_DTYPE_RANK.indexOf(right.dtype) - PYTHON_DTYPE_RANK.indexOf(left.dtype) ||
    compareNames(left.name, right.name)
  );
}

/**
 * UTF-8 byte order, as Rust compares strings (it differs from JavaScript's UTF-16 order for
 * characters past U+FFFF); code-unit order breaks the ties lone surrogates leave.
 */
export function compareNames(left: string, right: string): number {
  return (
    Buffer.compare(Buffer.from(left, 'utf8'), Buffer.from(right, 'utf8')) ||
    (left < right ? -1 : left > right ? 1 : 0)
  );
}

function prepareTensor(name: string, tensor: unknown): PreparedTensor {
  const where = `tensor ${JSON.stringify(name)}`;
  if (typeof tensor !== 'object' || tensor === null) {
    throw new InvalidArgumentError('tensors', `${where} is not a tensor object`);
  }
  const { dtype: ptqDType, shape, data } = tensor as Partial<Tensor>;
  const dtype = checkTensorLayout(name, ptqDType, shape);
  const checked = checkedData(name, ptqDType as DType, shape as readonly number[], data);
  return { name, dtype, shape: checked.shape, bytes: tensorBytes(checked) };
}

/**
 * Checks a tensor's name-independent layout for writing (a dtype safetensors has, a shape within the
 * reader's limits) and returns its safetensors dtype.
 */
export function checkTensorLayout(name: string, ptqDType: unknown, shape: unknown): SafetensorsDType {
  const where = `tensor ${JSON.stringify(name)}`;
  if (ptqDType === 'int4') {
    throw new UnsupportedDTypeError(
      'int4',
      name,
      `${where} is int4, which safetensors has no dtype for; pack it into uint8 (two values per byte) before writing`,
    );
  }
  if (typeof ptqDType !== 'string' || !(DTYPES as readonly string[]).includes(ptqDType)) {
    throw new InvalidArgumentError('tensors', `${where} has unknown dtype ${String(ptqDType)}`);
  }
  const dtype = toSafetensorsDType(ptqDType as DType);
  if (dtype === undefined) {
    throw new UnsupportedDTypeError(
      ptqDType,
      name,
      `${where} is ${ptqDType}, which safetensors has no dtype for`,
    );
  }
  // The same limits the reader enforces, so ptq never writes a file it would refuse to read.
  if (!Array.isArray(shape) || shape.length > MAX_TENSOR_RANK) {
    throw new InvalidArgumentError(
      'tensors',
      `${where}: shape must be an array of at most ${MAX_TENSOR_RANK} dimensions`,
    );
  }
  shape.forEach((dimension, index) => {
    if (!Number.isSafeInteger(dimension) || dimension < 0 || dimension > MAX_TENSOR_DIMENSION) {
      throw new InvalidArgumentError(
        'tensors',
        `${where}: shape[${index}] must be an integer in [0, ${MAX_TENSOR_DIMENSION}], got ${dimension}`,
      );
    }
  });
  return dtype;
}

/** The tensor, checked that its typed array fits its dtype and shape. */
export function checkedData(name: string, dtype: DType, shape: readonly number[], data: unknown): Tensor {
  const where = `tensor ${JSON.stringify(name)}`;
  if (!ArrayBuffer.isView(data)) {
    throw new InvalidArgumentError('tensors', `${where} has no typed-array data`);
  }
  try {
    return createTensor(dtype, shape, data as Tensor['data']);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new InvalidArgumentError('tensors', `${where}: ${reason}`, { cause: error });
  }
}

function toIterable(
  entries: TensorEntries,
): Iterable<readonly [string, Tensor]> | AsyncIterable<readonly [string, Tensor]> {
  if (typeof entries !== 'object' || entries === null) {
    throw new InvalidArgumentError(
      'tensors',
      'must be an object of tensors or an iterable of [name, tensor] pairs',
    );
  }
  if (Symbol.asyncIterator in entries || Symbol.iterator in entries) {
    return entries as Iterable<readonly [string, Tensor]> | AsyncIterable<readonly [string, Tensor]>;
  }
  return Object.entries(entries as Readonly<Record<string, Tensor>>);
}
