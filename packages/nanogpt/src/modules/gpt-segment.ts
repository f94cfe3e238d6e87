import type { Tensor } from '@ptq/tensor';
import type { GPTConfigInput } from '../config';
import { StateDictError } from '../errors';
import type { StateDictInput } from '../state-dict/load-state-dict';
import { GPT } from './gpt';

/** Consecutive blocks `[start, end)` of a model of `numLayers` blocks. */
export interface LayerRange {
  readonly start: number;
  readonly end: number;
}

const LAYER_KEY = /^transformer\.h\.(\d+)\.(.+)$/;

/** Whether a segment reads a parameter outside the blocks: the first the embeddings, the last `ln_f` and the head (and `wte`, which a tied head is). */
function readsOutsideBlocks(key: string, first: boolean, last: boolean): boolean {
  if (key.startsWith('transformer.wte.')) return first || last;
  if (key.startsWith('transformer.wpe.')) return first;
  return last && (key.startsWith('transformer.ln_f.') || key.startsWith('lm_head.'));
}

/**
 * The state-dict key a segment of `layers` gives `key` (its blocks renumbered from 0), or undefined
 * when the segment does not read it.
 */
export function segmentKey(key: string, layers: LayerRange, numLayers: number): string | undefined {
  const match = LAYER_KEY.exec(key);
  if (match !== null) {
    const layer = Number(match[1]);
    return layer >= layers.start && layer < layers.end
      ? `transformer.h.${layer - layers.start}.${match[2]}`
      : undefined;
  }
  return readsOutsideBlocks(key, layers.start === 0, layers.end === numLayers) ? key : undefined;
}

/**
 * A GPT of `end − start` blocks holding blocks `[start, end)` of a model of `config` (the segment's
 * block i is the model's block start + i), with what `segmentKey` says the segment reads, from
 * `state` (the model's own keys; the rest is ignored). Tensors are taken as they are, not copied;
 * what the segment does not read stays unallocated zeros. Throws `StateDictError` when `state`
 * lacks something the segment reads.
 */
export function loadGptSegment(config: GPTConfigInput, layers: LayerRange, state: StateDictInput): GPT {
  const segment = new GPT({ ...config, numLayers: layers.end - layers.start });
  const renamed = new Map<string, Tensor>();
  const entries = state instanceof Map ? state.entries() : Object.entries(state);
  for (const [key, tensor] of entries) {
    const name = segmentKey(key, layers, config.numLayers);
    if (name !== undefined) renamed.set(name, tensor);
  }
  const { missingKeys } = segment.loadStateDict(renamed, { strict: false });
  const first = layers.start === 0;
  const last = layers.end === config.numLayers;
  const missing = missingKeys.filter((key) => LAYER_KEY.test(key) || readsOutsideBlocks(key, first, last));
  if (missing.length > 0) {
    throw new StateDictError(
      missing.map((key) => ({
        kind: 'missing' as const,
        key,
        // Named as the model numbers its blocks.
        message: `missing "${key.replace(LAYER_KEY, (_, layer: string, rest: string) => `transformer.h.${Number(layer) + layers.start}.${rest}`)}"`,
      })),
    );
  }
  return segment;
}
