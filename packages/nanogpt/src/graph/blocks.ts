import type { Value } from '@ptq/onnx-format';
import type { Linear } from '../modules/linear';

/** Which operators build the transformer blocks (see `appendStandardBlocks`, `appendFusedBlocks`). */
export type GraphOperators = 'standard' | 'fused';

/** The padding-aware inputs: per-row positions and which keys each query may attend. */
export interface MaskInputs {
  readonly positionIds: Value;
  /** `[batch, 1, sequence, total]` bool: which keys each query may attend. */
  readonly allowed: Value;
  /** The model dtype's masked attention score (finite, so a fully masked row stays finite). */
  readonly maskedScore: Value;
}

/** What the block builders read from the rest of the graph. */
export interface BlocksInputs {
  /** The token embeddings of `input_ids`, `[batch, sequence, embedding]`. */
  readonly embedded: Value;
  readonly wpe: Value;
  readonly pastKeys: readonly Value[];
  readonly pastValues: readonly Value[];
  /** Absent in a single-row graph: no padding, positions follow the cache length, causal attention. */
  readonly masking: MaskInputs | undefined;
  /** Fold `c_attn` / `c_fc` pre-quant scales into `ln_1` / `ln_2`. */
  readonly foldPreQuantScale: boolean;
  /** Split long one-row products (fused blocks; see `BuildGraphOptions.splitLongProducts`). */
  readonly splitLongProducts: boolean;
}

export interface BlocksOutput {
  /** The final LayerNorm's output. */
  readonly normalized: Value;
  /** Each layer's present key and value. */
  readonly presents: ReadonlyArray<readonly [Value, Value]>;
  /**
   * Set when `normalized` is `[batch · sequence, embedding]` rather than `[batch, sequence,
   * embedding]`: `[batch, sequence, width]` for a given width, to give the rows back their shape.
   */
  readonly unflatten: ((width: number) => Value) | undefined;
}

/** Appends one linear of the model (its path, module and input) with the given bias placement. */
export type LinearAppender = (
  path: string,
  module: Linear,
  x: Value,
  options?: {
    preScaleFolded?: boolean;
    bias?: 'add' | 'fused' | 'omit';
    /** Per output channel factors folded into the weight (see `AppendLinearOptions.outputScale`). */
    outputScale?: Float32Array | undefined;
    /** Parts to split the inner dimension into (see `AppendLinearOptions.splitInner`). */
    splitInner?: number | undefined;
  },
) => Value;
