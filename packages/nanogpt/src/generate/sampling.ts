import type { RandomSource } from '@ptq/tensor';

/** The index of the largest value; the lowest index wins a tie. */
export function argmax(values: Float32Array): number {
  let best = 0;
  let bestValue = values[0]!;
  for (let index = 1; index < values.length; index += 1) {
    if (values[index]! > bestValue) {
      bestValue = values[index]!;
      best = index;
    }
  }
  return best;
}

/**
 * The `k` largest values' indices, largest first, a tie going to the lower index (a min-heap of
 * size k: O(V log k), not a full sort of the vocabulary).
 */
export function topKIndices(values: Float32Array, k: number): number[] {
  const count = Math.min(k, values.length);
  // "a ranks below b": smaller value, or equal value and higher index.
  const below = (a: number, b: number) => values[a]! < values[b]! || (values[a] === values[b] && a > b);
  const heap: number[] = [];
  const siftDown = (start: number) => {
    let parent = start;
    for (;;) {
      const left = 2 * parent + 1;
      const right = left + 1;
      let lowest = parent;
      if (left < heap.length && below(heap[left]!, heap[lowest]!)) lowest = left;
      if (right < heap.length && below(heap[right]!, heap[lowest]!)) lowest = right;
      if (lowest === parent) return;
      [heap[parent], heap[lowest]] = [heap[lowest]!, heap[parent]!];
      parent = lowest;
    }
  };
  for (let index = 0; index < values.length; index += 1) {
    if (heap.length < count) {
      heap.push(index);
      for (let child = heap.length - 1; child > 0; ) {
        const parent = (child - 1) >> 1;
        if (!below(heap[child]!, heap[parent]!)) break;
        [heap[parent], heap[child]] = [heap[child]!, heap[parent]!];
        child = parent;
      }
    } else if (below(heap[0]!, index)) {
      heap[0] = index;
      siftDown(0);
    }
  }
  return heap.sort((a, b) => (below(a, b) ? 1 : below(b, a) ? -1 : 0));
}

export interface SampleOptions {
  /** > 0; logits are divided by it before the softmax. */
  readonly temperature: number;
  /** Keep only the k most likely tokens (default: all). */
  readonly topK?: number | undefined;
  readonly random: RandomSource;
}

/**
 * Draws a token from `softmax(logits / temperature)` restricted to the top-k: the softmax runs in
 * float64 over the candidates, and one uniform number picks the first candidate whose cumulative
 * probability exceeds it (candidates in vocabulary order, or most likely first with `topK`).
 */
export function sampleToken(logits: Float32Array, options: SampleOptions): number {
  const { temperature, topK, random } = options;
  const candidates =
    topK === undefined || topK >= logits.length
      ? Array.from({ length: logits.length }, (_, index) => index)
      : topKIndices(logits, topK);
  let maximum = Number.NEGATIVE_INFINITY;
  for (const index of candidates) maximum = Math.max(maximum, logits[index]!);
  const weights = candidates.map((index) => Math.exp((logits[index]! - maximum) / temperature));
  const total = weights.reduce((sum, weight) => sum + weight, 0);
  const target = random() * total;
  let cumulative = 0;
  for (let position = 0; position < candidates.length; position += 1) {
    cumulative += weights[position]!;
    if (target < cumulative) return candidates[position]!;
  }
  // Rounding can leave the target a hair above the last cumulative sum.
  return candidates[candidates.length - 1]!;
}
