import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_MODEL_DIR } from '@ptq/default-model';
import { loadHfGpt2, type WeightResidence } from '@ptq/hf-gpt2';
import { GPT, type ModelDType } from '@ptq/nanogpt';
import { modelOptQuantize, type QuantizedModel, type QuantMode } from '@ptq/quant-core';
import { gptConfigFromHf, hfStateToRuntime, quantizedStateToRuntime } from '@ptq/tripy-loader';

export const quiet = { log: () => {}, onNotice: () => {} };

/** Small calibration: the tests check formats and round trips, not calibration quality. */
const CALIBRATION = {
  'int8-weight-only': { numSamples: 2, batchSize: 1 },
  float8: { numSamples: 2, batchSize: 1 },
  'int4-weight-only': { numSamples: 4, batchSize: 4 },
} as const;

const cache = new Map<string, Promise<QuantizedModel>>();

/** The default model quantized in `mode`, once per test file (each mode loads its own HF model, as quantizing changes it). */
export function quantizedDefaultModel(
  mode: QuantMode,
  weights: WeightResidence = 'in-memory',
): Promise<QuantizedModel> {
  const key = `${mode} ${weights}`;
  let promise = cache.get(key);
  if (promise === undefined) {
    promise = (async () => {
      const hf = await loadHfGpt2(DEFAULT_MODEL_DIR, { device: 'cpu', onNotice: () => {}, weights });
      return modelOptQuantize(hf, mode, {
        ...quiet,
        ...CALIBRATION[mode],
        maxSampleLength: 64,
        device: 'cpu',
      });
    })();
    cache.set(key, promise);
  }
  return promise;
}

const folders: string[] = [];

/** A fresh temporary folder, removed after the test file (see `remove-temporary-folders.ts`). */
export async function temporaryFolder(): Promise<string> {
  const folder = await mkdtemp(join(tmpdir(), 'ptq-export-test-'));
  folders.push(folder);
  return folder;
}

/**
 * Removes the folders `temporaryFolder` made. Called after every test file by the package's setup
 * file: the test files share their workers' modules (`isolate: false`), so an `afterAll` registered
 * here would run after the first file that imports this module only.
 */
export async function removeTemporaryFolders(): Promise<void> {
  await Promise.all(folders.splice(0).map((folder) => rm(folder, { recursive: true, force: true })));
}

/** The runtime GPT loaded straight from the quantized HF model (tripy-loader's path), or unquantized. */
export async function runtimeDefaultModel(
  mode: QuantMode | undefined,
  dtype: ModelDType = 'float32',
): Promise<GPT> {
  if (mode === undefined) {
    const hf = await loadHfGpt2(DEFAULT_MODEL_DIR, { device: 'cpu', onNotice: () => {} });
    const gpt = new GPT(gptConfigFromHf(hf.config, { dtype }));
    gpt.loadStateDict(hfStateToRuntime(hf, dtype), { strict: true });
    return gpt;
  }
  const quantized = await quantizedDefaultModel(mode);
  const gpt = new GPT(gptConfigFromHf(quantized.model.config, { dtype, quantMode: mode }));
  gpt.loadStateDict(quantizedStateToRuntime(quantized, dtype), { strict: true });
  return gpt;
}
