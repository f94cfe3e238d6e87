import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSafetensors } from './open-safetensors';
import { parseSafetensorsHeader } from './parse-safetensors-header';
import { SafetensorsFormatError } from './safetensors-errors';

// Element sizes written out from the format description, independently of SAFETENSORS_DTYPE_BYTES.
const ELEMENT_BYTES: Readonly<Record<string, number>> = {
  F64: 8,
  I64: 8,
  U64: 8,
  F32: 4,
  I32: 4,
  U32: 4,
  F16: 2,
  BF16: 2,
  I16: 2,
  U16: 2,
  F8_E4M3: 1,
  F8_E5M2: 1,
  I8: 1,
  U8: 1,
  BOOL: 1,
};

interface Entry {
  readonly name: string;
  readonly dtype: string;
  readonly shape: readonly number[];
  readonly begin: number;
  readonly end: number;
}

interface Layout {
  /** In header order; a name may repeat once mutated. */
  readonly entries: readonly Entry[];
  readonly buffer: Uint8Array;
  readonly metadata: Readonly<Record<string, string>> | undefined;
  /** Spaces after the JSON, inside the declared header length, as writers pad it. */
  readonly padding: number;
}

function byteLengthOf(dtype: string, shape: readonly number[]): number {
  return shape.reduce((count, dimension) => count * dimension, 1) * (ELEMENT_BYTES[dtype] as number);
}

/**
 * Whether Python/Rust `safetensors` loads the layout: every name once, each span dtype × shape bytes,
 * and, sorted by offsets, each tensor starting where the previous ended (the first at 0) and the last
 * ending at the end of the buffer. Written from the format's rules, not from the reader's code.
 */
function referenceAccepts(layout: Layout): boolean {
  const { entries, buffer } = layout;
  if (new Set(entries.map((entry) => entry.name)).size !== entries.length) return false;
  if (entries.some((entry) => entry.end - entry.begin !== byteLengthOf(entry.dtype, entry.shape))) {
    return false;
  }
  const sorted = [...entries].sort((left, right) => left.begin - right.begin || left.end - right.end);
  let position = 0;
  for (const entry of sorted) {
    if (entry.begin !== position) return false;
    position = entry.end;
  }
  return position === buffer.byteLength;
}

const tensorArbitrary = fc.record({
  // Short names collide with each other and with JSON escapes; a long one tests message length.
  name: fc.oneof(
    fc.string({ maxLength: 6, unit: 'binary' }),
    fc.constantFrom('a', 'b', 'h.0.attn.c_attn.weight', '"', '\\', `long.${'x'.repeat(300)}`),
  ),
  dtype: fc.constantFrom(...Object.keys(ELEMENT_BYTES)),
  shape: fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 3 }),
});

/** A layout Python's writer could have made: tensors back to back in some storage order. */
const validLayoutArbitrary: fc.Arbitrary<Layout> = fc
  .record({
    tensors: fc
      .uniqueArray(tensorArbitrary, { maxLength: 6, selector: (tensor) => tensor.name })
      .filter((tensors) => tensors.every((tensor) => tensor.name !== '__metadata__')),
    metadata: fc.option(
      fc.dictionary(fc.string({ maxLength: 4 }), fc.string({ maxLength: 4 }), { maxKeys: 2 }),
      {
        nil: undefined,
      },
    ),
    padding: fc.integer({ min: 0, max: 7 }),
  })
  .chain(({ tensors, metadata, padding }) => {
    const indexes = tensors.map((_, index) => index);
    const total = tensors.reduce((sum, tensor) => sum + byteLengthOf(tensor.dtype, tensor.shape), 0);
    return fc
      .tuple(
        fc.shuffledSubarray(indexes, { minLength: indexes.length, maxLength: indexes.length }),
        fc.uint8Array({ minLength: total, maxLength: total }),
      )
      .map(([storageOrder, buffer]) => {
        const begins = new Map<number, number>();
        let offset = 0;
        for (const index of storageOrder) {
          begins.set(index, offset);
          offset += byteLengthOf(tensors[index]!.dtype, tensors[index]!.shape);
        }
        const entries = tensors.map((tensor, index) => {
          const begin = begins.get(index) as number;
          return { ...tensor, begin, end: begin + byteLengthOf(tensor.dtype, tensor.shape) };
        });
        return { entries, buffer, metadata, padding };
      });
  });

type Mutation =
  | { kind: 'none' }
  | { kind: 'duplicate'; index: number; other: number; pointElsewhere: boolean }
  | { kind: 'shift'; index: number; delta: number }
  | { kind: 'resize'; delta: number }
  | { kind: 'hole'; at: number; size: number }
  | { kind: 'squeeze'; index: number; size: number }
  | { kind: 'overlap'; index: number; other: number; into: number };

const mutationArbitrary: fc.Arbitrary<Mutation> = fc.oneof(
  fc.constant({ kind: 'none' as const }),
  fc.record({
    kind: fc.constant('duplicate' as const),
    index: fc.nat(),
    other: fc.nat(),
    pointElsewhere: fc.boolean(),
  }),
  fc.record({
    kind: fc.constant('shift' as const),
    index: fc.nat(),
    delta: fc.integer({ min: -16, max: 16 }).filter((delta) => delta !== 0),
  }),
  fc.record({
    kind: fc.constant('resize' as const),
    delta: fc.integer({ min: -16, max: 16 }).filter((delta) => delta !== 0),
  }),
  fc.record({ kind: fc.constant('overlap' as const), index: fc.nat(), other: fc.nat(), into: fc.nat() }),
  fc.record({ kind: fc.constant('hole' as const), at: fc.nat(), size: fc.integer({ min: 1, max: 16 }) }),
  fc.record({ kind: fc.constant('squeeze' as const), index: fc.nat(), size: fc.nat() }),
);

/** Applies the mutation; `certainlyInvalid` says the result must be refused whatever the layout. */
function mutate(layout: Layout, mutation: Mutation): { layout: Layout; certainlyInvalid: boolean } {
  const { entries, buffer } = layout;
  const nonEmpty = entries.filter((entry) => entry.end > entry.begin);
  switch (mutation.kind) {
    case 'none':
      return { layout, certainlyInvalid: false };
    case 'duplicate': {
      if (entries.length === 0) break;
      const original = entries[mutation.index % entries.length]!;
      // The second entry either repeats the first or takes another tensor's place and dtype.
      const target = mutation.pointElsewhere ? entries[mutation.other % entries.length]! : original;
      const copy = { ...target, name: original.name };
      const position = mutation.other % (entries.length + 1);
      return {
        layout: { ...layout, entries: [...entries.slice(0, position), copy, ...entries.slice(position)] },
        certainlyInvalid: true,
      };
    }
    case 'shift': {
      if (entries.length === 0) break;
      const index = mutation.index % entries.length;
      const entry = entries[index]!;
      const delta = entry.begin + mutation.delta < 0 ? -mutation.delta : mutation.delta;
      const shifted = { ...entry, begin: entry.begin + delta, end: entry.end + delta };
      // Moving a tensor that holds bytes always leaves its old bytes unowned; an empty one may land
      // on another boundary and stay valid.
      return {
        layout: { ...layout, entries: entries.map((item, at) => (at === index ? shifted : item)) },
        certainlyInvalid: entry.end > entry.begin,
      };
    }
    case 'overlap': {
      if (nonEmpty.length < 2) break;
      const host = nonEmpty[mutation.index % nonEmpty.length]!;
      const others = nonEmpty.filter((entry) => entry !== host);
      const guest = others[mutation.other % others.length]!;
      const begin = host.begin + (mutation.into % (host.end - host.begin));
      const moved = { ...guest, begin, end: begin + (guest.end - guest.begin) };
      return {
        layout: { ...layout, entries: entries.map((item) => (item === guest ? moved : item)) },
        certainlyInvalid: true,
      };
    }
    case 'hole': {
      // Unowned bytes inserted at a tensor boundary, the buffer growing to match: every tensor after
      // the boundary moves, so the last one still ends at the end of the buffer.
      const boundaries = [0, ...entries.map((entry) => entry.end)];
      const at = boundaries[mutation.at % boundaries.length]!;
      const moved = entries.map((entry) =>
        entry.begin >= at && (entry.end > entry.begin || entry.begin > at)
          ? { ...entry, begin: entry.begin + mutation.size, end: entry.end + mutation.size }
          : entry,
      );
      const holed = new Uint8Array(buffer.byteLength + mutation.size);
      holed.set(buffer.subarray(0, at));
      holed.fill(0x5a, at, at + mutation.size);
      holed.set(buffer.subarray(at), at + mutation.size);
      return { layout: { ...layout, entries: moved, buffer: holed }, certainlyInvalid: true };
    }
    case 'squeeze': {
      if (nonEmpty.length === 0) break;
      // The opposite of a hole: the tensors after one tensor's end move back into it and the buffer
      // loses as many bytes, so the last one still ends at the end of the buffer but two overlap.
      const host = nonEmpty[mutation.index % nonEmpty.length]!;
      const size = 1 + (mutation.size % (host.end - host.begin));
      const at = host.end;
      const moved = entries.map((entry) =>
        entry !== host && entry.begin >= at && (entry.end > entry.begin || entry.begin > at)
          ? { ...entry, begin: entry.begin - size, end: entry.end - size }
          : entry,
      );
      const squeezed = new Uint8Array(buffer.byteLength - size);
      squeezed.set(buffer.subarray(0, at - size));
      squeezed.set(buffer.subarray(at), at - size);
      return { layout: { ...layout, entries: moved, buffer: squeezed }, certainlyInvalid: true };
    }
    case 'resize':
      break;
  }
  // Resize, and the fallback when a mutation has no tensor to act on: grow (trailing bytes) or shrink.
  const delta = mutation.kind === 'resize' ? mutation.delta : 1;
  const size =
    delta < 0 && buffer.byteLength + delta < 0 ? buffer.byteLength - delta : buffer.byteLength + delta;
  const resized = new Uint8Array(size);
  resized.set(buffer.subarray(0, Math.min(size, buffer.byteLength)));
  resized.fill(0xa5, buffer.byteLength);
  return { layout: { ...layout, buffer: resized }, certainlyInvalid: true };
}

function headerText(layout: Layout): string {
  const members = layout.entries.map(
    (entry) =>
      `${JSON.stringify(entry.name)}:${JSON.stringify({
        dtype: entry.dtype,
        shape: entry.shape,
        data_offsets: [entry.begin, entry.end],
      })}`,
  );
  if (layout.metadata !== undefined) members.unshift(`"__metadata__":${JSON.stringify(layout.metadata)}`);
  return `{${members.join(',')}}${' '.repeat(layout.padding)}`;
}

function fileBytes(layout: Layout): { bytes: Uint8Array; headerLength: number } {
  const header = new TextEncoder().encode(headerText(layout));
  const bytes = new Uint8Array(8 + header.byteLength + layout.buffer.byteLength);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(header.byteLength), true);
  bytes.set(header, 8);
  bytes.set(layout.buffer, 8 + header.byteLength);
  return { bytes, headerLength: header.byteLength };
}

function expectTypedOneLineError(error: unknown, file: string): void {
  expect(error).toBeInstanceOf(SafetensorsFormatError);
  expect(error).toMatchObject({ code: 'PTQ_SAFETENSORS_FORMAT', file });
  const { message } = error as Error;
  expect(message.startsWith(`${file}: `)).toBe(true);
  expect(message).not.toMatch(/[\n\r]/);
  expect(message.length).toBeLessThan(file.length + 500);
}

const mutatedLayoutArbitrary = fc
  .tuple(validLayoutArbitrary, mutationArbitrary)
  .map(([layout, mutation]) => ({ mutation, ...mutate(layout, mutation) }));

describe('safetensors layouts, valid and mutated', () => {
  let folder: string;
  beforeAll(async () => {
    folder = await mkdtemp(join(tmpdir(), 'ptq-safetensors-fuzz-'));
  });
  afterAll(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  it('the reference rule agrees with what each mutation is known to do', () => {
    fc.assert(
      fc.property(mutatedLayoutArbitrary, ({ mutation, layout, certainlyInvalid }) => {
        if (mutation.kind === 'none') expect(referenceAccepts(layout)).toBe(true);
        if (certainlyInvalid) expect(referenceAccepts(layout)).toBe(false);
      }),
      { numRuns: 2000 },
    );
  });

  it('the header parser accepts exactly what the reference accepts, and refuses the rest with its typed error', () => {
    fc.assert(
      fc.property(mutatedLayoutArbitrary, ({ layout }) => {
        const { bytes, headerLength } = fileBytes(layout);
        const headerBytes = bytes.subarray(8, 8 + headerLength);
        let outcome: unknown;
        try {
          outcome = parseSafetensorsHeader('fuzz.safetensors', headerBytes, bytes.byteLength);
        } catch (error) {
          outcome = error;
        }
        if (referenceAccepts(layout)) {
          expect(outcome).not.toBeInstanceOf(Error);
        } else {
          expectTypedOneLineError(outcome, 'fuzz.safetensors');
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('openSafetensors loads the valid files with their exact bytes and refuses every other one', async () => {
    let fileCount = 0;
    await fc.assert(
      fc.asyncProperty(mutatedLayoutArbitrary, async ({ layout }) => {
        const path = join(folder, `file-${fileCount++}.safetensors`);
        const { bytes, headerLength } = fileBytes(layout);
        await writeFile(path, bytes);
        const opened = await openSafetensors(path).catch((error: unknown) => error);
        if (!referenceAccepts(layout)) {
          expectTypedOneLineError(opened, path);
          return;
        }
        if (opened instanceof Error) throw opened;
        const file = opened as Awaited<ReturnType<typeof openSafetensors>>;
        try {
          expect(file.metadata).toEqual(layout.metadata ?? {});
          expect([...file.tensors.keys()]).toEqual(layout.entries.map((entry) => entry.name));
          for (const entry of layout.entries) {
            expect(file.tensors.get(entry.name)).toEqual({
              dtype: entry.dtype,
              shape: entry.shape,
              byteOffset: 8 + headerLength + entry.begin,
              byteLength: entry.end - entry.begin,
            });
            expect(await file.readTensorBytes(entry.name)).toEqual(
              layout.buffer.slice(entry.begin, entry.end),
            );
          }
        } finally {
          await file.close();
        }
      }),
      { numRuns: 300 },
    );
  });
});
