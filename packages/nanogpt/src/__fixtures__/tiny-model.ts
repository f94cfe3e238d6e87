import type { GPTConfigInput } from '../config';
import { initializeWeights } from '../initialize-weights';
import { GPT } from '../modules/gpt';

/** A small random GPT for tests: 2 layers, 4 heads; embeddingSize 128 so int4 blocks of 128 fit. */
export function tinyModel(overrides: Partial<GPTConfigInput> = {}, seed = 1, std = 0.15): GPT {
  const model = new GPT({
    numLayers: 2,
    numHeads: 4,
    embeddingSize: 128,
    vocabSize: 96,
    blockSize: 32,
    ...overrides,
  });
  initializeWeights(model, { seed, std });
  return model;
}
