import { InvalidArgumentError } from '@ptq/errors';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  hubEndpoint,
  isHubOffline,
  normalizeResolveOptions,
  repoFolderName,
  validateRepoId,
  validateRepoPaths,
} from './resolve-options';

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('isHubOffline', () => {
  it.each(['1', 'ON', 'yes', 'True', ' true '])('treats HF_HUB_OFFLINE=%j as offline', (value) => {
    expect(isHubOffline({ HF_HUB_OFFLINE: value })).toBe(true);
  });
  it.each([undefined, '', '0', 'false', 'off', 'no', '2'])('treats HF_HUB_OFFLINE=%j as online', (value) => {
    expect(isHubOffline({ HF_HUB_OFFLINE: value })).toBe(false);
  });
});

describe('hubEndpoint', () => {
  it('defaults to huggingface.co and honours HF_ENDPOINT without its trailing slash', () => {
    expect(hubEndpoint({})).toBe('https://huggingface.co');
    expect(hubEndpoint({ HF_ENDPOINT: '' })).toBe('https://huggingface.co');
    expect(hubEndpoint({ HF_ENDPOINT: 'https://hf-mirror.com/' })).toBe('https://hf-mirror.com');
  });
});

describe('normalizeResolveOptions', () => {
  it('fills defaults from the environment', () => {
    vi.stubEnv('HF_HUB_CACHE', '/cache');
    vi.stubEnv('HF_ENDPOINT', 'http://mirror.test/');
    vi.stubEnv('HF_HUB_OFFLINE', '1');
    vi.stubEnv('HF_TOKEN', 'hf_abc');
    const options = normalizeResolveOptions();
    expect(options).toMatchObject({
      repoType: 'model',
      revision: 'main',
      cacheDir: '/cache',
      endpoint: 'http://mirror.test',
      offline: true,
      accessToken: 'hf_abc',
    });
  });

  it('lets options override the environment', () => {
    vi.stubEnv('HF_HUB_OFFLINE', '1');
    const options = normalizeResolveOptions({ offline: false, revision: 'v1.0', repoType: 'dataset' });
    expect(options.offline).toBe(false);
    expect(options.revision).toBe('v1.0');
    expect(options.repoType).toBe('dataset');
  });

  it.each([
    [{ repoType: 'space' as 'model' }, 'repoType'],
    [{ revision: '' }, 'revision'],
    [{ revision: '../escape' }, 'revision'],
    [{ endpoint: 'ftp://example.com' }, 'endpoint'],
  ])('rejects %j', (options, argument) => {
    expect(() => normalizeResolveOptions(options)).toThrow(InvalidArgumentError);
    expect(() => normalizeResolveOptions(options)).toThrow(`"${argument}"`);
  });
});

describe('validateRepoId', () => {
  it.each(['gpt2', 'openai-community/gpt2', 'abisee/cnn_dailymail', 'Salesforce/wikitext', 'a.b/c_d-e'])(
    'accepts %s',
    (repo) => {
      expect(() => validateRepoId(repo)).not.toThrow();
    },
  );
  it.each(['', 'a/b/c', 'a--b', 'a..b', '-a', 'a.', 'owner/', '/name', 'with space', 'x'.repeat(97)])(
    'rejects %j',
    (repo) => {
      expect(() => validateRepoId(repo)).toThrow(InvalidArgumentError);
    },
  );
});

describe('validateRepoPaths', () => {
  it('accepts nested relative paths', () => {
    expect(() => validateRepoPaths(['config.json', '3.0.0/train-00000-of-00003.parquet'])).not.toThrow();
  });
  it.each(['', '/etc/passwd', '../x', 'a/../../x', 'a\\..\\x', 'C:/x', 'a//b', './a', 'dir/'])(
    'rejects %j',
    (path) => {
      expect(() => validateRepoPaths([path])).toThrow(InvalidArgumentError);
    },
  );
});

describe('repoFolderName', () => {
  it('matches the Python cache folder names', () => {
    expect(repoFolderName('openai-community/gpt2', 'model')).toBe('models--openai-community--gpt2');
    expect(repoFolderName('gpt2', 'model')).toBe('models--gpt2');
    expect(repoFolderName('abisee/cnn_dailymail', 'dataset')).toBe('datasets--abisee--cnn_dailymail');
  });
});
