/** Graph input and output names, in the layout transformers.js and Optimum use for decoder models. */
export const INPUT_IDS = 'input_ids';
export const ATTENTION_MASK = 'attention_mask';
export const POSITION_IDS = 'position_ids';
export const LOGITS = 'logits';
/**
 * Single-row graphs: the greedy choice after each kept position, int64 `[kept, 1]`; with one
 * position kept, the token to feed back as `input_ids`.
 */
export const NEXT_TOKEN = 'next_token';
/**
 * Single-row graphs: int64 scalar, how many of the last positions get logits (0: all), as in
 * transformers' `logits_to_keep`; a host input, read by nodes pinned to the CPU.
 */
export const NUM_LOGITS_TO_KEEP = 'num_logits_to_keep';

export function pastKeyName(layer: number): string {
  return `past_key_values.${layer}.key`;
}

export function pastValueName(layer: number): string {
  return `past_key_values.${layer}.value`;
}

/** Every present key and value output's name starts with this. */
export const PRESENT_PREFIX = 'present.';

export function presentKeyName(layer: number): string {
  return `${PRESENT_PREFIX}${layer}.key`;
}

export function presentValueName(layer: number): string {
  return `${PRESENT_PREFIX}${layer}.value`;
}

/** Symbolic dimension names. */
export const BATCH_DIMENSION = 'batch_size';
export const SEQUENCE_DIMENSION = 'sequence_length';
export const PAST_SEQUENCE_DIMENSION = 'past_sequence_length';
export const TOTAL_SEQUENCE_DIMENSION = 'total_sequence_length';
/** Single-row graphs: the positions that get logits (`num_logits_to_keep`, or all). */
export const KEPT_SEQUENCE_DIMENSION = 'kept_sequence_length';

/**
 * Names of nodes that compute small host-side values (lengths for the attention op) start with this;
 * on a GPU they are pinned to the CPU, since computing them on the device would cost a device-to-host
 * copy, and so a full synchronization, in the middle of every run.
 */
export const HOST_NODE_PREFIX = 'host/';

/** Node options naming a node as one of those host nodes (`host/<name>`). */
export function hostNode(name: string): { name: string } {
  return { name: `${HOST_NODE_PREFIX}${name}` };
}
