import { mkdir, readdir, utimes, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { temporaryFolder } from '../test-support/temporary-folder';
import {
  type CheckCacheKey,
  checkCacheDir,
  checkCacheEntryName,
  readCachedPerplexity,
  writeCachedPerplexity,
} from './unquantized-check-cache';

const RESULT = { perplexity: 226.28912345, negativeLogLikelihood: 2770.5, tokenCount: 511 };

async function modelFolder(): Promise<string> {
  const folder = path.join(await temporaryFolder(), 'model');
  await mkdir(folder);
  await writeFile(path.join(folder, 'config.json'), '{}');
  await writeFile(path.join(folder, 'model.safetensors'), 'weights');
  return folder;
}

function key(folder: string, overrides: Partial<CheckCacheKey> = {}): CheckCacheKey {
  return {
    modelFolder: folder,
    tokens: BigInt64Array.from({ length: 512 }, (_, index) => BigInt(index)),
    window: 512,
    device: 'cpu',
    dtype: 'float32',
    ...overrides,
  };
}

describe('checkCacheDir', () => {
  it('is PTQ_CACHE_DIR, off, $XDG_CACHE_HOME/ptq or ~/.cache/ptq, in that order', () => {
    expect(checkCacheDir({ PTQ_CACHE_DIR: '/tmp/x', XDG_CACHE_HOME: '/tmp/y' })).toBe('/tmp/x');
    expect(checkCacheDir({ PTQ_CACHE_DIR: 'off', XDG_CACHE_HOME: '/tmp/y' })).toBeUndefined();
    expect(checkCacheDir({ PTQ_CACHE_DIR: '', XDG_CACHE_HOME: '/tmp/y' })).toBe('/tmp/y/ptq');
    expect(checkCacheDir({ XDG_CACHE_HOME: '' })).toBe(path.join(homedir(), '.cache', 'ptq'));
    expect(checkCacheDir({})).toBe(path.join(homedir(), '.cache', 'ptq'));
  });
});

describe('the unquantized check cache', () => {
  it('gives back what was written, for the same key only', async () => {
    const folder = await modelFolder();
    const cache = path.join(await temporaryFolder(), 'cache');
    const notices: string[] = [];
    expect(await readCachedPerplexity(cache, key(folder))).toBeUndefined();
    await writeCachedPerplexity(cache, key(folder), RESULT, (message) => notices.push(message));
    expect(notices).toEqual([]);
    expect(await readCachedPerplexity(cache, key(folder))).toEqual(RESULT);
    // Each thing the figure depends on is part of the key.
    const otherTokens = key(folder).tokens.slice();
    otherTokens[511] = 7n;
    for (const other of [
      { tokens: otherTokens },
      { tokens: key(folder).tokens.slice(0, 511) },
      { window: 256 },
      { device: 'webgpu' },
      { dtype: 'float16' },
      { modelFolder: await modelFolder() },
    ]) {
      expect(
        await readCachedPerplexity(cache, key(folder, other)),
        JSON.stringify(Object.keys(other)),
      ).toBeUndefined();
    }
    // No temporary file is left beside the entry.
    expect(await readdir(cache)).toEqual([await checkCacheEntryName(key(folder))]);
  });

  it('misses once a file of the model changes (size or modification time)', async () => {
    const folder = await modelFolder();
    const cache = path.join(await temporaryFolder(), 'cache');
    await writeCachedPerplexity(cache, key(folder), RESULT, () => {});
    await utimes(path.join(folder, 'model.safetensors'), new Date(2001, 0, 1), new Date(2001, 0, 1));
    expect(await readCachedPerplexity(cache, key(folder))).toBeUndefined();
    await writeCachedPerplexity(cache, key(folder), RESULT, () => {});
    await writeFile(path.join(folder, 'model.safetensors'), 'other weights');
    expect(await readCachedPerplexity(cache, key(folder))).toBeUndefined();
  });

  it('treats an entry that is not a perplexity result as a miss', async () => {
    const folder = await modelFolder();
    const cache = path.join(await temporaryFolder(), 'cache');
    await mkdir(cache);
    const file = path.join(cache, await checkCacheEntryName(key(folder)));
    for (const text of [
      'not json',
      '{}',
      JSON.stringify({ ...RESULT, perplexity: 'high' }),
      JSON.stringify({ ...RESULT, perplexity: null }),
      JSON.stringify({ ...RESULT, tokenCount: 512 }),
      JSON.stringify({ ...RESULT, tokenCount: 0 }),
      JSON.stringify({ ...RESULT, tokenCount: 1.5 }),
    ]) {
      await writeFile(file, text);
      expect(await readCachedPerplexity(cache, key(folder)), text).toBeUndefined();
    }
  });

  it('reports a folder it cannot write in one notice, and goes on', async () => {
    const folder = await modelFolder();
    // Below a regular file: no folder can be made there, whoever runs the test.
    const blocker = path.join(await temporaryFolder(), 'a-file');
    await writeFile(blocker, '');
    const notices: string[] = [];
    await writeCachedPerplexity(path.join(blocker, 'cache'), key(folder), RESULT, (message) =>
      notices.push(message),
    );
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatch(
      /^ptq: could not keep the unquantized perplexity in .*a-file\/cache \(.*\); set PTQ_CACHE_DIR/,
    );
  });
});
