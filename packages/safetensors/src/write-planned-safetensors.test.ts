import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidArgumentError } from '@ptq/errors';
import { allocateStorage, createTensor, type DType, numElements, type Tensor } from '@ptq/tensor';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { temporaryOutputs, WRITABLE_DTYPES } from './__fixtures__/temporary-outputs';
import { openSafetensors } from './open-safetensors';
import { SafetensorsIoError, UnsupportedDTypeError } from './safetensors-errors';
import { type PlannedTensor, writePlannedSafetensors } from './write-planned-safetensors';
import { writeSafetensors } from './write-safetensors';

const outputs = temporaryOutputs('ptq-safetensors-planned-', 'planned');
const { nextPath } = outputs;

/** A tensor whose every byte is distinct from its neighbours', so a misplaced tensor changes the file. */
function patterned(dtype: DType, shape: readonly number[], seed: number): Tensor {
  const storage = allocateStorage(dtype, numElements(shape));
  const bytes = new Uint8Array(storage.buffer, storage.byteOffset, storage.byteLength);
  for (let index = 0; index < bytes.length; index++) bytes[index] = (seed * 31 + index * 7) & 0x7f;
  return createTensor(dtype, shape, storage as never);
}

const planOf = (tensors: ReadonlyMap<string, Tensor>): PlannedTensor[] =>
  [...tensors].map(([name, tensor]) => ({ name, dtype: tensor.dtype, shape: tensor.shape }));

async function writeInOrder(path: string, tensors: ReadonlyMap<string, Tensor>, order: readonly string[]) {
  await writePlannedSafetensors(
    path,
    planOf(tensors),
    async (write) => {
      for (const name of order) await write(name, tensors.get(name)!);
    },
    { metadata: { format: 'pt' } },
  );
}

async function filesIn(path: string): Promise<string[]> {
  return (await readdir(path)).sort();
}

describe('writePlannedSafetensors', () => {
  it('writes the same bytes as writeSafetensors, whatever order the tensors arrive in', async () => {
    const tensorArbitrary = fc.record({
      dtype: fc.constantFrom(...WRITABLE_DTYPES),
      shape: fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 3 }),
      seed: fc.integer({ min: 0, max: 1000 }),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.tuple(fc.stringMatching(/^[a-z.0-9]{1,12}$/), tensorArbitrary), {
          minLength: 1,
          maxLength: 8,
          selector: ([name]) => name,
        }),
        fc.infiniteStream(fc.nat()),
        async (entries, randomness) => {
          const tensors = new Map(
            entries.map(([name, { dtype, shape, seed }]) => [name, patterned(dtype, shape, seed)] as const),
          );
          // A shuffled arrival order.
          const order = [...tensors.keys()];
          const draws = randomness.take(order.length);
          for (const [index, draw] of [...draws].entries()) {
            const other = index + (draw % (order.length - index));
            [order[index], order[other]] = [order[other]!, order[index]!];
          }
          const expectedPath = nextPath();
          const plannedPath = nextPath();
          await writeSafetensors(expectedPath, tensors, { metadata: { format: 'pt' } });
          await writeInOrder(plannedPath, tensors, order);
          expect(Buffer.compare(await readFile(plannedPath), await readFile(expectedPath))).toBe(0);
          await rm(expectedPath);
          await rm(plannedPath);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('places each tensor where the reader finds it', async () => {
    const tensors = new Map<string, Tensor>([
      ['b.weight', createTensor('int8', [2, 2], new Int8Array([-128, -1, 0, 127]))],
      ['a.weight_scale', createTensor('float32', [2], new Float32Array([0.5, 1.5]))],
      ['a.weight', createTensor('uint8', [1, 3], new Uint8Array([0x0f, 0xf0, 0x81]))],
    ]);
    const path = nextPath();
    await writeInOrder(path, tensors, ['b.weight', 'a.weight', 'a.weight_scale']);
    const file = await openSafetensors(path);
    try {
      // Widest dtype first, then by name: F32 at offset 0, then I8 and U8 by name.
      expect(file.tensors.get('a.weight_scale')).toMatchObject({ dtype: 'F32', byteLength: 8 });
      expect([...(await file.readTensor('a.weight_scale')).data]).toEqual([0.5, 1.5]);
      expect([...(await file.readTensor('b.weight')).data]).toEqual([-128, -1, 0, 127]);
      expect([...(await file.readTensor('a.weight')).data]).toEqual([0x0f, 0xf0, 0x81]);
      expect(file.metadata).toEqual({ format: 'pt' });
    } finally {
      await file.close();
    }
  });

  const one = createTensor('float32', [2], new Float32Array([1, 2]));
  const plan: PlannedTensor[] = [
    { name: 'x', dtype: 'float32', shape: [2] },
    { name: 'y', dtype: 'int8', shape: [3] },
  ];
  const refusals: [
    string,
    (write: (name: string, tensor: Tensor) => Promise<void>) => Promise<void>,
    RegExp,
  ][] = [
    ['a tensor not in the plan', async (write) => write('z', one), /tensor "z" is not in the plan/],
    [
      'a tensor written twice',
      async (write) => {
        await write('x', one);
        await write('x', one);
      },
      /tensor "x" was written twice/,
    ],
    [
      'a dtype other than planned',
      async (write) => write('y', createTensor('uint8', [3], new Uint8Array(3))),
      /tensor "y" is uint8 \[3\]; the plan said int8 \[3\]/,
    ],
    [
      'a shape other than planned',
      async (write) => write('y', createTensor('int8', [1, 3], new Int8Array(3))),
      /tensor "y" is int8 \[1, 3\]; the plan said int8 \[3\]/,
    ],
    [
      'a planned tensor never written',
      async (write) => write('x', one),
      /1 planned tensor\(s\) never written, the first "y"/,
    ],
  ];
  for (const [what, fill, message] of refusals) {
    it(`refuses ${what} and leaves no file`, async () => {
      const target = join(await mkdtemp(join(outputs.folder, 'refused-')), 'model.safetensors');
      const error = await writePlannedSafetensors(target, plan, fill).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect((error as Error).message).toMatch(message);
      expect(await filesIn(join(target, '..'))).toEqual([]);
    });
  }

  it('leaves no file when fill throws midway', async () => {
    const target = join(await mkdtemp(join(outputs.folder, 'failed-')), 'model.safetensors');
    const failure = new Error('export failed');
    const error = await writePlannedSafetensors(target, plan, async (write) => {
      await write('x', one);
      throw failure;
    }).catch((caught: unknown) => caught);
    // A failure that is not ptq's own is worded as an I/O error naming the file, its cause kept.
    expect(error).toBeInstanceOf(SafetensorsIoError);
    expect((error as Error).cause).toBe(failure);
    expect(await filesIn(join(target, '..'))).toEqual([]);
  });

  it('checks the plan before creating anything', async () => {
    const target = join(await mkdtemp(join(outputs.folder, 'plan-')), 'model.safetensors');
    let filled = false;
    const fill = async () => {
      filled = true;
    };
    await expect(
      writePlannedSafetensors(target, [...plan, { name: 'x', dtype: 'int8', shape: [1] }], fill),
    ).rejects.toThrow(/tensor "x" appears twice/);
    await expect(
      writePlannedSafetensors(target, [{ name: 'q', dtype: 'int4', shape: [2] }], fill),
    ).rejects.toBeInstanceOf(UnsupportedDTypeError);
    await expect(
      writePlannedSafetensors(target, [{ name: '__metadata__', dtype: 'int8', shape: [1] }], fill),
    ).rejects.toThrow(/reserved for metadata/);
    expect(filled).toBe(false);
    expect(await filesIn(join(target, '..'))).toEqual([]);
  });
});
