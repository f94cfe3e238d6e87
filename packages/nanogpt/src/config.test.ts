import { PtqError } from '@ptq/errors';
import { describe, expect, it } from 'vitest';
import { resolveGPTConfig } from './config';

const base = { numLayers: 2, numHeads: 4, embeddingSize: 128, vocabSize: 96, blockSize: 32 };

describe('resolveGPTConfig', () => {
  it('fills in GPT-2 defaults', () => {
    expect(resolveGPTConfig(base)).toEqual({
      ...base,
      bias: true,
      dtype: 'float32',
      quantMode: undefined,
      layerNormEpsilon: 1e-5,
      eosTokenId: 95,
    });
  });

  it('keeps given values', () => {
    const config = resolveGPTConfig({
      ...base,
      bias: false,
      dtype: 'float16',
      quantMode: 'float8',
      layerNormEpsilon: 1e-6,
      eosTokenId: 0,
    });
    expect(config).toMatchObject({
      bias: false,
      dtype: 'float16',
      quantMode: 'float8',
      layerNormEpsilon: 1e-6,
      eosTokenId: 0,
    });
  });

  it.each([
    [{ numLayers: 0 }, 'Invalid argument "config.numLayers": must be a positive integer, got 0'],
    [{ numHeads: 1.5 }, 'Invalid argument "config.numHeads": must be a positive integer, got 1.5'],
    [{ embeddingSize: -1 }, 'Invalid argument "config.embeddingSize": must be a positive integer, got -1'],
    [{ vocabSize: Number.NaN }, 'Invalid argument "config.vocabSize": must be a positive integer, got NaN'],
    [{ blockSize: '8' }, 'Invalid argument "config.blockSize": must be a positive integer, got 8'],
    [{ numHeads: 3 }, 'Invalid argument "config.numHeads": must divide embeddingSize 128, got 3'],
    [{ bias: 1 }, 'Invalid argument "config.bias": must be a boolean, got 1'],
    [{ dtype: 'bfloat16' }, 'Invalid argument "config.dtype": must be one of float32, float16, got bfloat16'],
    [
      { quantMode: 'int4' },
      'Invalid argument "config.quantMode": must be one of int8-weight-only, int4-weight-only, float8 or undefined, got int4',
    ],
    [
      { layerNormEpsilon: 0 },
      'Invalid argument "config.layerNormEpsilon": must be a positive finite number, got 0',
    ],
    [{ eosTokenId: 96 }, 'Invalid argument "config.eosTokenId": must be a token id in [0, 95], got 96'],
  ])('rejects %o', (override, message) => {
    let caught: unknown;
    try {
      resolveGPTConfig({ ...base, ...(override as object) });
    } catch (error) {
      caught = error;
    }
    expect(PtqError.isInstance(caught)).toBe(true);
    expect((caught as PtqError).code).toBe('PTQ_INVALID_ARGUMENT');
    expect((caught as Error).message).toBe(message);
  });

  it('rejects a missing config', () => {
    expect(() => resolveGPTConfig(undefined as never)).toThrow(
      'Invalid argument "config": must be an object, got undefined',
    );
  });
});
