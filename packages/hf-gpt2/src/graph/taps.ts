import { InvalidArgumentError } from '@ptq/errors';
import type { Tensor } from '@ptq/tensor';
import type { Tensor as OrtTensor } from 'onnxruntime-node';

/**
 * What a caller wants to see of one linear's input during a forward. The input is what a forward
 * pre-hook on that module sees: before its AWQ pre-quant scale and input fake quantization.
 */
export interface TapRequest {
  /** Path of a linear in the module tree, e.g. `transformer.h.0.attn.c_attn` or `lm_head`. */
  readonly module: string;
  /** Max |x| over the real tokens (mask 1) of the batch. */
  readonly absMax?: boolean;
  /** Mean |x| per input channel over the real tokens of the batch. */
  readonly absMeanPerChannel?: boolean;
  /** The input rows at real tokens, [realTokens, in], in (batch, position) order. */
  readonly input?: boolean;
  /**
   * The linear's weight `[out, in]` and bias `[out]` as the graph holds them: copies made on the
   * session's device, for work that continues there (a block session that keeps its outputs on the
   * device); on the host the module's own tensors serve.
   */
  readonly weight?: boolean;
}

export interface TapResult {
  /** Real tokens (attention mask 1) in the batch: the count the reductions ran over. */
  readonly tokenCount: number;
  /** Max |x| over real tokens; 0 when the batch has none. */
  readonly absMax?: number;
  /** Mean |x| per input channel over real tokens, [in]; zeros when the batch has none. */
  readonly absMeanPerChannel?: Float32Array;
  /** The input rows at real tokens, float32 [realTokens, in]. */
  readonly input?: Tensor<'float32'>;
  /**
   * The same rows left in a GPU buffer, instead of `input`, by a block session that keeps its
   * outputs on the device; the receiver disposes of it.
   */
  readonly deviceInput?: OrtTensor;
  /** With `weight`: the linear's weight `[out, in]` and bias `[out]` (absent without one), as tensors of the session. */
  readonly weight?: OrtTensor;
  readonly bias?: OrtTensor;
}

/** One tap per module, flags merged, in a stable order (it is part of the session cache key). */
export interface NormalizedTap {
  readonly module: string;
  readonly absMax: boolean;
  readonly absMeanPerChannel: boolean;
  readonly input: boolean;
  readonly weight: boolean;
}

export function normalizeTaps(taps: readonly TapRequest[], linearPaths: readonly string[]): NormalizedTap[] {
  if (!Array.isArray(taps)) {
    throw new InvalidArgumentError(
      'taps',
      'must be an array of { module, absMax?, absMeanPerChannel?, input?, weight? }',
    );
  }
  const known = new Set(linearPaths);
  const merged = new Map<string, NormalizedTap>();
  for (const tap of taps) {
    if (typeof tap !== 'object' || tap === null || typeof tap.module !== 'string') {
      throw new InvalidArgumentError('taps', `each tap needs a string "module", got ${JSON.stringify(tap)}`);
    }
    if (!known.has(tap.module)) {
      throw new InvalidArgumentError(
        'taps',
        `"${tap.module}" is not a linear of this model; linears are ${linearPaths[0]}, …, ${linearPaths.at(-1)} (${linearPaths.length} in all)`,
      );
    }
    const wanted = {
      absMax: tap.absMax === true,
      absMeanPerChannel: tap.absMeanPerChannel === true,
      input: tap.input === true,
      weight: tap.weight === true,
    };
    if (!wanted.absMax && !wanted.absMeanPerChannel && !wanted.input && !wanted.weight) {
      throw new InvalidArgumentError(
        'taps',
        `the tap on "${tap.module}" asks for nothing; set absMax, absMeanPerChannel, input or weight`,
      );
    }
    const previous = merged.get(tap.module);
    merged.set(tap.module, {
      module: tap.module,
      absMax: wanted.absMax || (previous?.absMax ?? false),
      absMeanPerChannel: wanted.absMeanPerChannel || (previous?.absMeanPerChannel ?? false),
      input: wanted.input || (previous?.input ?? false),
      weight: wanted.weight || (previous?.weight ?? false),
    });
  }
  const order = new Map(linearPaths.map((path, index) => [path, index]));
  return [...merged.values()].sort((a, b) => order.get(a.module)! - order.get(b.module)!);
}

/** A string that identifies a tap set, for the session cache. */
export function tapsKey(taps: readonly NormalizedTap[]): string {
  return taps
    .map(
      (tap) =>
        `${tap.module}:${tap.absMax ? 'm' : ''}${tap.absMeanPerChannel ? 'a' : ''}${tap.input ? 'i' : ''}${tap.weight ? 'w' : ''}`,
    )
    .join(',');
}
