import { homedir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { hubCacheDir } from './hub-cache-dir';

describe('hubCacheDir', () => {
  // Each row sets more variables than the one below it; the first variable of the chain wins.
  const table: [string, NodeJS.ProcessEnv, string][] = [
    [
      'HF_HUB_CACHE first',
      { HF_HUB_CACHE: '/a', HUGGINGFACE_HUB_CACHE: '/b', HF_HOME: '/c', XDG_CACHE_HOME: '/d' },
      '/a',
    ],
    [
      'then HUGGINGFACE_HUB_CACHE',
      { HUGGINGFACE_HUB_CACHE: '/b', HF_HOME: '/c', XDG_CACHE_HOME: '/d' },
      '/b',
    ],
    ['then $HF_HOME/hub', { HF_HOME: '/c', XDG_CACHE_HOME: '/d' }, '/c/hub'],
    ['then $XDG_CACHE_HOME/huggingface/hub', { XDG_CACHE_HOME: '/d' }, '/d/huggingface/hub'],
    ['then ~/.cache/huggingface/hub', {}, `${homedir()}/.cache/huggingface/hub`],
    [
      'empty values do not count',
      { HF_HUB_CACHE: '', HF_HOME: '', XDG_CACHE_HOME: '/d' },
      '/d/huggingface/hub',
    ],
    ['a leading ~ is the home folder', { HF_HOME: '~/hf' }, `${homedir()}/hf/hub`],
  ];
  it.each(table)('%s', (_, env, expected) => {
    expect(hubCacheDir(env)).toBe(expected);
  });

  it('makes relative settings absolute', () => {
    expect(hubCacheDir({ HF_HUB_CACHE: 'relative/cache' })).toBe(`${process.cwd()}/relative/cache`);
  });
});
