import { afterAll } from 'vitest';
import type { QuantMode } from '../config';
import type { RuntimeGPT } from '../runtime/runtime-gpt';
import { row } from './compare-logits';

/** The engine checks' modes: unquantized and each quantized one. */
export const MODES: (QuantMode | undefined)[] = [undefined, 'int8-weight-only', 'int4-weight-only', 'float8'];
export const PROMPT = [3, 17, 42, 5, 88, 61, 7, 29, 90];
export const TEXT = Array.from({ length: 150 }, (_, index) => (index * 37 + 11) % 96);

/** A function that awaits a compiled model and releases it once the test file's tests are done. */
export function releasedAfterAll(): <T extends RuntimeGPT>(compiled: Promise<T>) => Promise<T> {
  const opened: RuntimeGPT[] = [];
  afterAll(async () => {
    for (const model of opened) await model.release();
  });
  return async (compiled) => {
    const model = await compiled;
    opened.push(model);
    return model;
  };
}

/** exp(mean negative log-likelihood) of `tokens`, each predicted from the ones before it. */
export async function perplexity(compiled: RuntimeGPT, tokens: readonly number[]): Promise<number> {
  const scored = await compiled.targetLogProbabilities(row(tokens.slice(0, -1)), row(tokens.slice(1)));
  let sum = 0;
  for (const value of scored.data) sum -= value;
  return Math.exp(sum / scored.data.length);
}
