import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { HubFileNotFoundError, HubUnavailableError } from './hub-errors';
import { listRepoFiles } from './list-repo-files';
import { type FakeHub, populateHubCache, startFakeHub } from './test';

const REPO = 'abisee/cnn_dailymail';
const FILES = {
  'README.md': '# card\n',
  '3.0.0/train-00001-of-00002.parquet': new Uint8Array([2]),
  '3.0.0/train-00000-of-00002.parquet': new Uint8Array([1]),
  '3.0.0/test-00000-of-00001.parquet': new Uint8Array([3]),
  '1.0.0/train-00000-of-00001.parquet': new Uint8Array([4]),
};

let cacheDir: string;
let hub: FakeHub;
let notices: string[];

beforeEach(async () => {
  cacheDir = await mkdtemp(join(tmpdir(), 'ptq-hub-list-'));
  hub = await startFakeHub({ repos: { [REPO]: { type: 'dataset', files: FILES } } });
  notices = [];
});

afterEach(async () => {
  vi.unstubAllEnvs();
  await hub.close();
  await rm(cacheDir, { recursive: true, force: true });
});

const options = () => ({
  cacheDir,
  endpoint: hub.endpoint,
  repoType: 'dataset' as const,
  offline: false,
  onNotice: (line: string) => notices.push(line),
});

describe('listRepoFiles', () => {
  it('lists every file of the revision from the hub, sorted, without directories', async () => {
    expect(await listRepoFiles(REPO, options())).toEqual([
      '1.0.0/train-00000-of-00001.parquet',
      '3.0.0/test-00000-of-00001.parquet',
      '3.0.0/train-00000-of-00002.parquet',
      '3.0.0/train-00001-of-00002.parquet',
      'README.md',
    ]);
    expect(hub.requests).toEqual([`GET /api/datasets/${REPO}/tree/main?recursive=true&expand=false`]);
  });

  it('lists the cached snapshot offline', async () => {
    await populateHubCache(cacheDir, {
      [REPO]: { type: 'dataset', files: { '3.0.0/train-00000-of-00002.parquet': new Uint8Array([1]) } },
    });
    vi.stubEnv('HF_HUB_OFFLINE', '1');
    const { offline: _, ...rest } = options();
    expect(await listRepoFiles(REPO, rest)).toEqual(['3.0.0/train-00000-of-00002.parquet']);
    expect(hub.requests).toEqual([]);
  });

  it('throws HubUnavailableError offline when the revision is not cached', async () => {
    await expect(listRepoFiles(REPO, { ...options(), offline: true })).rejects.toMatchObject({
      name: 'HubUnavailableError',
      reason: 'offline',
    });
  });

  it('does not answer from a (possibly partial) cached snapshot when the hub is unreachable', async () => {
    await populateHubCache(cacheDir, { [REPO]: { type: 'dataset', files: { 'README.md': 'x' } } });
    await hub.close();
    const error = await listRepoFiles(REPO, options()).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ name: 'HubUnavailableError', reason: 'unreachable' });
    expect((error as Error).message).toBe(
      `${REPO}@main (dataset): the hub at ${hub.endpoint} is unreachable: fetch failed (ECONNREFUSED)`,
    );
    expect(notices).toEqual([]);
  });

  it('throws HubUnavailableError when the hub is unreachable and nothing is cached', async () => {
    await hub.close();
    const error = await listRepoFiles(REPO, options()).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(HubUnavailableError);
    expect(error).toMatchObject({ reason: 'unreachable' });
  });

  it('throws HubFileNotFoundError for an unknown repo', async () => {
    await expect(listRepoFiles('abisee/missing', options())).rejects.toThrow(HubFileNotFoundError);
  });
});
