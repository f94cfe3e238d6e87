import { InvalidArgumentError } from '@ptq/errors';
import { numElements } from '@ptq/tensor';

/**
 * Which elements share a scale:
 * - `per-tensor`: one scale for everything;
 * - `per-channel`: one scale per index along `axis` (negative counts from the end; ModelOpt's int8
 *   weights use axis 0 of `[out, in]`);
 * - `block`: one scale per `blockSize` consecutive elements of the last axis, for every index of the
 *   leading axes; a shorter last block covers the remaining elements (ModelOpt zero-pads it, which
 *   changes neither its amax nor its codes).
 */
export type QuantLayout =
  | { readonly kind: 'per-tensor' }
  | { readonly kind: 'per-channel'; readonly axis: number }
  | { readonly kind: 'block'; readonly blockSize: number };

/**
 * A layout resolved against a shape. Elements form runs of consecutive indices that share one scale:
 * per-tensor is one run; per-channel has `outer * channels` runs of `inner` elements, run r using
 * scale `r % channels`; block has one run per (row, block), run r using scale r.
 */
export interface LayoutPlan {
  readonly count: number;
  /** Shape of the scales this layout needs: `[]`, `[channels]` or `[...leading, blocks]`. */
  readonly scaleShape: readonly number[];
  readonly scaleCount: number;
  readonly outer: number;
  readonly channels: number;
  readonly inner: number;
  /** 0 for per-tensor and per-channel. */
  readonly blockSize: number;
  /** Length of the last axis (block layout only). */
  readonly rowLength: number;
}

function formatShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/** Checks `shape`, `layout` and the data length together and resolves them into a plan. */
export function planLayout(shape: readonly number[], layout: QuantLayout, dataLength: number): LayoutPlan {
  const count = numElements(shape);
  if (dataLength !== count) {
    throw new InvalidArgumentError(
      'x',
      `shape ${formatShape(shape)} needs ${count} elements, got ${dataLength}`,
    );
  }
  switch (layout.kind) {
    case 'per-tensor':
      return {
        count,
        scaleShape: [],
        scaleCount: 1,
        outer: 1,
        channels: 1,
        inner: count,
        blockSize: 0,
        rowLength: 0,
      };
    case 'per-channel': {
      const rank = shape.length;
      const { axis } = layout;
      if (!Number.isInteger(axis) || axis < -rank || axis >= rank) {
        throw new InvalidArgumentError(
          'axis',
          `must be an integer in [${-rank}, ${rank - 1}] for shape ${formatShape(shape)}, got ${axis}`,
        );
      }
      const resolved = axis < 0 ? axis + rank : axis;
      const channels = shape[resolved]!;
      const outer = numElements(shape.slice(0, resolved));
      const inner = numElements(shape.slice(resolved + 1));
      return {
        count,
        scaleShape: [channels],
        scaleCount: channels,
        outer,
        channels,
        inner,
        blockSize: 0,
        rowLength: 0,
      };
    }
    case 'block': {
      const { blockSize } = layout;
      if (!Number.isSafeInteger(blockSize) || blockSize < 1) {
        throw new InvalidArgumentError('blockSize', `must be a positive integer, got ${blockSize}`);
      }
      if (shape.length === 0) {
        throw new InvalidArgumentError('shape', 'block quantization needs at least one axis, got a scalar');
      }
      const rowLength = shape[shape.length - 1]!;
      const blocks = Math.ceil(rowLength / blockSize);
      const leading = shape.slice(0, -1);
      const rows = numElements(leading);
      return {
        count,
        scaleShape: [...leading, blocks],
        scaleCount: rows * blocks,
        outer: rows,
        channels: blocks,
        inner: 0,
        blockSize,
        rowLength,
      };
    }
    default:
      throw new InvalidArgumentError(
        'layout',
        `kind must be per-tensor, per-channel or block, got ${String((layout as { kind: unknown }).kind)}`,
      );
  }
}

/** Calls `visit(start, end, scaleIndex)` for every run of elements sharing one scale, in memory order. */
export function forEachRun(
  plan: LayoutPlan,
  visit: (start: number, end: number, scaleIndex: number) => void,
): void {
  const { outer, channels } = plan;
  if (plan.blockSize > 0) {
    const { blockSize, rowLength } = plan;
    for (let row = 0; row < outer; row += 1) {
      const rowStart = row * rowLength;
      for (let block = 0; block < channels; block += 1) {
        const start = rowStart + block * blockSize;
        visit(start, Math.min(start + blockSize, rowStart + rowLength), row * channels + block);
      }
    }
    return;
  }
  const { inner } = plan;
  let start = 0;
  for (let outerIndex = 0; outerIndex < outer; outerIndex += 1) {
    for (let channel = 0; channel < channels; channel += 1) {
      visit(start, start + inner, channel);
      start += inner;
    }
  }
}

/** The shape of the scales (or amax) `layout` needs for a tensor of `shape`. */
export function scaleShapeOf(shape: readonly number[], layout: QuantLayout): number[] {
  return [...planLayout(shape, layout, numElements(shape)).scaleShape];
}
