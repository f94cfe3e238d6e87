/** Summary of the values of one kind of scale across a model. */
export interface ScaleStatistics {
  /** How many scale values (not tensors) were summarized. */
  readonly count: number;
  readonly min: number;
  readonly max: number;
  readonly mean: number;
}

/** The kinds of scale an export holds, named as in the ModelOpt checkpoint. */
export type ScaleKind = 'weight_scale' | 'input_scale' | 'pre_quant_scale';

export const SCALE_KINDS: readonly ScaleKind[] = ['weight_scale', 'input_scale', 'pre_quant_scale'];

/** Accumulates min, max and mean per scale kind, one tensor at a time. */
export class ScaleStatisticsCollector {
  readonly #totals = new Map<ScaleKind, { count: number; min: number; max: number; sum: number }>();

  add(kind: ScaleKind, values: Float32Array): void {
    if (values.length === 0) return;
    const total = this.#totals.get(kind) ?? {
      count: 0,
      min: Number.POSITIVE_INFINITY,
      max: Number.NEGATIVE_INFINITY,
      sum: 0,
    };
    for (const value of values) {
      if (value < total.min) total.min = value;
      if (value > total.max) total.max = value;
      total.sum += value;
    }
    total.count += values.length;
    this.#totals.set(kind, total);
  }

  result(): Partial<Record<ScaleKind, ScaleStatistics>> {
    const result: Partial<Record<ScaleKind, ScaleStatistics>> = {};
    for (const kind of SCALE_KINDS) {
      const total = this.#totals.get(kind);
      if (total !== undefined)
        result[kind] = { count: total.count, min: total.min, max: total.max, mean: total.sum / total.count };
    }
    return result;
  }
}
