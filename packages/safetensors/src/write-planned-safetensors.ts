import { InvalidArgumentError } from '@ptq/errors';
import { type DType, numElements, type Tensor, tensorBytes } from '@ptq/tensor';
import { writeFullyAt } from './file-handle-io';
import { METADATA_KEY } from './parse-safetensors-header';
import { checkedData, checkTensorLayout, compareForLayout } from './prepare-tensors';
import { SAFETENSORS_DTYPE_BYTES, type SafetensorsDType } from './safetensors-dtype';
import { writeFileAtomically } from './write-file-atomically';
import { checkedHeader, checkMetadata, type WriteSafetensorsOptions } from './write-safetensors';

/** A tensor a planned write will receive: its name, dtype and shape, known before its data. */
export interface PlannedTensor {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly number[];
}

/** Hands one planned tensor's data to the file; resolves once its bytes are written. */
export type WritePlannedTensor = (name: string, tensor: Tensor) => Promise<void>;

interface Slot {
  readonly planned: PlannedTensor;
  readonly dtype: SafetensorsDType;
  /** Where its bytes start in the file. */
  readonly position: number;
  readonly byteLength: number;
  written: boolean;
}

/**
 * Writes a safetensors file whose tensors arrive one at a time, in any order: the header is computed
 * from the plan (names, dtypes, shapes) first, and each tensor passed to `write` goes straight to its
 * place in the file, so the caller can make a tensor, hand it over and drop it, and memory holds one
 * tensor at a time instead of all of them. The file is byte for byte what `writeSafetensors` writes
 * for the same tensors (same layout order), and appears atomically: a tensor that does not match its
 * plan, one written twice or never, or a failing `fill` removes the temporary file.
 */
export async function writePlannedSafetensors(
  path: string,
  plan: Iterable<PlannedTensor>,
  fill: (write: WritePlannedTensor) => Promise<void>,
  options: WriteSafetensorsOptions = {},
): Promise<void> {
  const metadata = checkMetadata(options.metadata);
  const slots = new Map<string, Slot>();
  const checked: { planned: PlannedTensor; dtype: SafetensorsDType; byteLength: number }[] = [];
  const names = new Set<string>();
  for (const planned of plan) {
    const { name, dtype, shape } = planned;
    if (typeof name !== 'string') {
      throw new InvalidArgumentError('plan', `tensor names must be strings, got ${typeof name}`);
    }
    if (name === METADATA_KEY) {
      throw new InvalidArgumentError('plan', `"${METADATA_KEY}" is reserved for metadata, not a tensor name`);
    }
    if (names.has(name)) {
      throw new InvalidArgumentError('plan', `tensor ${JSON.stringify(name)} appears twice`);
    }
    names.add(name);
    const safetensorsDType = checkTensorLayout(name, dtype, shape);
    const byteLength = numElements(shape) * SAFETENSORS_DTYPE_BYTES[safetensorsDType];
    checked.push({ planned: { name, dtype, shape: [...shape] }, dtype: safetensorsDType, byteLength });
  }
  const ordered = checked.sort((left, right) =>
    compareForLayout(
      { name: left.planned.name, dtype: left.dtype },
      { name: right.planned.name, dtype: right.dtype },
    ),
  );
  const header = checkedHeader(
    ordered.map(({ planned, dtype, byteLength }) => ({
      name: planned.name,
      dtype,
      shape: planned.shape,
      byteLength,
    })),
    metadata,
  );
  let position = header.byteLength;
  for (const { planned, dtype, byteLength } of ordered) {
    slots.set(planned.name, { planned, dtype, position, byteLength, written: false });
    position += byteLength;
  }

  await writeFileAtomically(path, async (handle) => {
    await writeFullyAt(handle, header, 0);
    await fill(async (name, tensor) => {
      const slot = slots.get(name);
      if (slot === undefined) {
        throw new InvalidArgumentError('tensors', `tensor ${JSON.stringify(name)} is not in the plan`);
      }
      if (slot.written) {
        throw new InvalidArgumentError('tensors', `tensor ${JSON.stringify(name)} was written twice`);
      }
      const { dtype, shape } = slot.planned;
      if (tensor?.dtype !== dtype || !sameShape(tensor.shape, shape)) {
        throw new InvalidArgumentError(
          'tensors',
          `tensor ${JSON.stringify(name)} is ${String(tensor?.dtype)} [${tensor?.shape?.join(', ')}]; the plan said ${dtype} [${shape.join(', ')}]`,
        );
      }
      // Marked before the write, so a concurrent second write of the same name is refused too.
      slot.written = true;
      await writeFullyAt(handle, tensorBytes(checkedData(name, dtype, shape, tensor.data)), slot.position);
    });
    const missing = [...slots.values()].filter((slot) => !slot.written);
    if (missing.length > 0) {
      throw new InvalidArgumentError(
        'tensors',
        `${missing.length} planned tensor(s) never written, the first ${JSON.stringify(missing[0]!.planned.name)}`,
      );
    }
  });
}

function sameShape(found: readonly number[] | undefined, expected: readonly number[]): boolean {
  return (
    Array.isArray(found) &&
    found.length === expected.length &&
    found.every((dimension, index) => dimension === expected[index])
  );
}
