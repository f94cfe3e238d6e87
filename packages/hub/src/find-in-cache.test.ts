import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidArgumentError } from '@ptq/errors';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { findInCache, listCachedRepoFiles } from './find-in-cache';
import { populateHubCache } from './test';

const COMMIT = 'a'.repeat(40);
const OLD_COMMIT = 'b'.repeat(40);

let cacheDir: string;

beforeEach(async () => {
  cacheDir = await mkdtemp(join(tmpdir(), 'ptq-hub-cache-'));
});

afterEach(async () => {
  vi.unstubAllEnvs();
  await rm(cacheDir, { recursive: true, force: true });
});

/** The layout Python `huggingface_hub` writes, built by hand. */
async function writePythonCache(): Promise<string> {
  const repo = join(cacheDir, 'models--openai-community--gpt2');
  await mkdir(join(repo, 'blobs'), { recursive: true });
  await mkdir(join(repo, 'refs'), { recursive: true });
  await mkdir(join(repo, 'snapshots', COMMIT, 'onnx'), { recursive: true });
  await mkdir(join(repo, 'snapshots', OLD_COMMIT), { recursive: true });
  await writeFile(join(repo, 'blobs', '1111'), '{"model_type":"gpt2"}');
  await writeFile(join(repo, 'blobs', '2222'), 'weights');
  await writeFile(join(repo, 'refs', 'main'), COMMIT);
  await symlink('../../blobs/1111', join(repo, 'snapshots', COMMIT, 'config.json'));
  await symlink('../../../blobs/2222', join(repo, 'snapshots', COMMIT, 'onnx', 'model.onnx'));
  await symlink('../../blobs/missing', join(repo, 'snapshots', COMMIT, 'dangling.bin'));
  await symlink('../../blobs/1111', join(repo, 'snapshots', OLD_COMMIT, 'old-only.json'));
  return repo;
}

describe('findInCache', () => {
  it('follows refs/main to the snapshot and returns absolute paths, undefined where missing', async () => {
    const repo = await writePythonCache();
    const found = await findInCache(
      'openai-community/gpt2',
      ['config.json', 'onnx/model.onnx', 'absent.json'],
      {
        cacheDir,
      },
    );
    expect(found).toEqual([
      join(repo, 'snapshots', COMMIT, 'config.json'),
      join(repo, 'snapshots', COMMIT, 'onnx', 'model.onnx'),
      undefined,
    ]);
  });

  it('counts a dangling snapshot link as missing', async () => {
    await writePythonCache();
    expect(await findInCache('openai-community/gpt2', ['dangling.bin'], { cacheDir })).toEqual([undefined]);
  });

  it('takes a commit hash revision as the snapshot name, without a ref', async () => {
    const repo = await writePythonCache();
    expect(
      await findInCache('openai-community/gpt2', ['old-only.json'], { cacheDir, revision: OLD_COMMIT }),
    ).toEqual([join(repo, 'snapshots', OLD_COMMIT, 'old-only.json')]);
    // The branch points elsewhere, so the file of the old commit is not found through it.
    expect(await findInCache('openai-community/gpt2', ['old-only.json'], { cacheDir })).toEqual([undefined]);
  });

  it('finds nothing for an unknown revision, repo or repo type', async () => {
    await writePythonCache();
    expect(await findInCache('openai-community/gpt2', ['config.json'], { cacheDir, revision: 'v2' })).toEqual(
      [undefined],
    );
    expect(await findInCache('someone/else', ['config.json'], { cacheDir })).toEqual([undefined]);
    expect(
      await findInCache('openai-community/gpt2', ['config.json'], { cacheDir, repoType: 'dataset' }),
    ).toEqual([undefined]);
  });

  it('reads the cache folder from HF_HUB_CACHE by default', async () => {
    await writePythonCache();
    vi.stubEnv('HF_HUB_CACHE', cacheDir);
    const [found] = await findInCache('openai-community/gpt2', ['config.json']);
    expect(found).toBe(join(cacheDir, 'models--openai-community--gpt2', 'snapshots', COMMIT, 'config.json'));
  });

  it('reads what populateHubCache writes, for datasets and revisions with slashes', async () => {
    const { 'abisee/cnn_dailymail': populated } = await populateHubCache(cacheDir, {
      'abisee/cnn_dailymail': {
        type: 'dataset',
        revision: 'refs/convert/parquet',
        files: { '3.0.0/train-00000-of-00003.parquet': new Uint8Array([1, 2]) },
      },
    });
    expect(populated?.folder).toBe(join(cacheDir, 'datasets--abisee--cnn_dailymail'));
    const found = await findInCache('abisee/cnn_dailymail', ['3.0.0/train-00000-of-00003.parquet'], {
      cacheDir,
      repoType: 'dataset',
      revision: 'refs/convert/parquet',
    });
    expect(found).toEqual([
      join(
        cacheDir,
        'datasets--abisee--cnn_dailymail',
        'snapshots',
        populated?.commit ?? '',
        '3.0.0',
        'train-00000-of-00003.parquet',
      ),
    ]);
  });

  it('rejects bad repo ids and paths before touching the disk', async () => {
    await expect(findInCache('../x', ['a'], { cacheDir })).rejects.toThrow(InvalidArgumentError);
    await expect(findInCache('a/b', ['../../etc/passwd'], { cacheDir })).rejects.toThrow(
      InvalidArgumentError,
    );
  });
});

describe('listCachedRepoFiles', () => {
  it('lists the files of the snapshot a revision points to, sorted, without dangling links', async () => {
    await writePythonCache();
    expect(await listCachedRepoFiles('openai-community/gpt2', { cacheDir })).toEqual([
      'config.json',
      'onnx/model.onnx',
    ]);
    expect(await listCachedRepoFiles('openai-community/gpt2', { cacheDir, revision: OLD_COMMIT })).toEqual([
      'old-only.json',
    ]);
  });

  it('returns undefined when the revision is not cached', async () => {
    await writePythonCache();
    expect(
      await listCachedRepoFiles('openai-community/gpt2', { cacheDir, revision: 'c'.repeat(40) }),
    ).toBeUndefined();
    expect(await listCachedRepoFiles('nobody/nothing', { cacheDir })).toBeUndefined();
  });
});
