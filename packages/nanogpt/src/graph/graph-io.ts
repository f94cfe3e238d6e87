/** Graph input and output names, in the layout transformers.js and Optimum use for decoder models. */
export const INPUT_IDS = 'input_ids';
export const ATTENTION_MASK = 'attention_mask';
export const POSITION_IDS = 'position_ids';
export const LOGITS = 'logits';
/** Single-row graphs: the greedy choice after the last position, int64 `[1, 1]`, to feed back as `input_ids`. */
export const NEXT_TOKEN = 'next_token';

export function pastKeyName(layer: number): string {
  return `past_key_values.${layer}.key`;
}

export function pastValueName(layer: number): string {
  return `past_key_values.${layer}.value`;
}

export function presentKeyName(layer: number): string {
  return `present.${layer}.key`;
}

export function presentValueName(layer: number): string {
  return `present.${layer}.value`;
}

/** Symbolic dimension names. */
export const BATCH_DIMENSION = 'batch_size';
export const SEQUENCE_DIMENSION = 'sequence_length';
export const PAST_SEQUENCE_DIMENSION = 'past_sequence_length';
export const TOTAL_SEQUENCE_DIMENSION = 'total_sequence_length';

/**
 * Names of nodes that compute small host-side values (lengths for the attention op) start with this;
 * on a GPU they are pinned to the CPU, since computing them on the device would cost a device-to-host
 * copy, and so a full synchronization, in the middle of every run.
 */
export const HOST_NODE_PREFIX = 'host/';
