import { DEFAULT_MODEL_DIR } from '@ptq/default-model';
import { type GPT2LMHeadModel, loadHfGpt2 } from '@ptq/hf-gpt2';
import { GPT } from '@ptq/nanogpt';
import { beforeAll, describe, expect, it } from 'vitest';
import { gptConfigFromHf } from './gpt-config-from-hf';
import { loadQuantWeights, loadQuantWeightsFromHf } from './load-quant-weights-from-hf';

const quiet = { log: () => {}, onNotice: () => {} };
const calibration = { ...quiet, numSamples: 4, batchSize: 2 };
let loadHf: () => Promise<GPT2LMHeadModel>;

function sameBytes(left: ArrayBufferView, right: ArrayBufferView): boolean {
  return Buffer.from(left.buffer, left.byteOffset, left.byteLength).equals(
    Buffer.from(right.buffer, right.byteOffset, right.byteLength),
  );
}

beforeAll(() => {
  loadHf = () => loadHfGpt2(DEFAULT_MODEL_DIR, { device: 'cpu', onNotice: () => {} });
});

describe('loadQuantWeights({ … })', () => {
  it('loads the same state as the seed-shaped loadQuantWeightsFromHf, tensor for tensor', async () => {
    const hf = await loadHf();
    const config = gptConfigFromHf(hf.config, { dtype: 'float16', quantMode: 'int8-weight-only' });
    const byObject = new GPT(config);
    await loadQuantWeights({ model: byObject, source: hf, quantize: calibration });
    const bySeed = new GPT(config);
    await loadQuantWeightsFromHf(bySeed, 'gpt2', 'float16', 'int8-weight-only', {
      hfModel: await loadHf(),
      quantize: calibration,
    });
    const seedState = bySeed.stateDict();
    const objectState = byObject.stateDict();
    expect([...objectState.keys()]).toEqual([...seedState.keys()]);
    for (const [key, tensor] of objectState) {
      const seed = seedState.get(key)!;
      expect(tensor.dtype, key).toBe(seed.dtype);
      expect(tensor.shape, key).toEqual(seed.shape);
      // Bit for bit, compared as bytes: toEqual walks millions of elements one by one (about a minute).
      expect(tensor.data.constructor, key).toBe(seed.data.constructor);
      expect(sameBytes(tensor.data, seed.data), key).toBe(true);
    }
    // Cast to the model's dtype, scales included, and still tied.
    expect(objectState.get('transformer.h.0.attn.c_attn.weight_scale')!.dtype).toBe('float16');
    expect(byObject.weightsTied).toBe(true);
  }, 300_000);

  it('refuses a quantMode or dtype that disagrees with how the model was built, before loading anything', async () => {
    const hf = await loadHf();
    const int8 = new GPT(gptConfigFromHf(hf.config, { dtype: 'float32', quantMode: 'int8-weight-only' }));
    const plain = new GPT(gptConfigFromHf(hf.config, { dtype: 'float32' }));
    // A source that would fail if it were loaded: the checks come first.
    const nowhere = '/nonexistent/model';
    await expect(loadQuantWeights({ model: int8, source: nowhere, quantMode: 'float8' })).rejects.toThrow(
      'Invalid argument "quantMode": is "float8" but the model was built for "int8-weight-only" (model.config.quantMode)',
    );
    await expect(loadQuantWeights({ model: plain, source: nowhere })).rejects.toThrow(
      /Invalid argument "quantMode": is not given and the model was built unquantized/,
    );
    await expect(loadQuantWeights({ model: plain, source: nowhere, quantMode: 'float8' })).rejects.toThrow(
      'is "float8" but the model was built for no quantization',
    );
    await expect(loadQuantWeightsFromHf(int8, nowhere, 'float16', 'int8-weight-only')).rejects.toThrow(
      'Invalid argument "dtype": is "float16" but the model was built with "float32" (model.config.dtype); pass the model\'s dtype',
    );
  });
});
