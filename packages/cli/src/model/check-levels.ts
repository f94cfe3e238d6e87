/** `--check`: how much held-out text the quality report measures, or none. */
export const CHECK_LEVELS = ['fast', 'full', 'none'] as const;
export type CheckLevel = (typeof CHECK_LEVELS)[number];

/**
 * Tokens `--check fast` measures: one forward per model, so that the check adds little to a run
 * (the two compiles cost more than the forwards).
 */
export const FAST_CHECK_TOKENS = 512;

/** Default `--max-degradation`, in percent of the unquantized perplexity. */
export const DEFAULT_MAX_DEGRADATION_PERCENT = 5;
