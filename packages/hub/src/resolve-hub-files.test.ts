import { lstat, mkdtemp, readdir, readFile, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidArgumentError, PtqError } from '@ptq/errors';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { HubFileNotFoundError, HubRequestError, HubUnavailableError } from './hub-errors';
import { resolveHubFiles } from './resolve-hub-files';
import { type FakeHub, populateHubCache, startFakeHub } from './test';

// Independent digests: `git hash-object` of "hello\n" and sha256 of the bytes 01 02 03.
const HELLO_GIT_OID = 'ce013625030ba8dba906f756967f9e9ca394464a';
const BYTES_SHA256 = '039058c6f2c0cb492c533b0a4d14ef77cc0f78abccced5287d84a1a2011cfb81';
const COMMIT = '0123456789abcdef0123456789abcdef01234567';
const REPO = 'owner/tiny-gpt2';
const FILES = { 'config.json': 'hello\n', 'onnx/model.onnx': new Uint8Array([1, 2, 3]) };

let cacheDir: string;
let hub: FakeHub;
let notices: string[];

beforeEach(async () => {
  cacheDir = await mkdtemp(join(tmpdir(), 'ptq-hub-resolve-'));
  hub = await startFakeHub({ repos: { [REPO]: { commit: COMMIT, files: FILES } } });
  notices = [];
});

afterEach(async () => {
  vi.unstubAllEnvs();
  await hub.close();
  await rm(cacheDir, { recursive: true, force: true });
});

function online(extra: Parameters<typeof resolveHubFiles>[2] = {}) {
  return {
    cacheDir,
    endpoint: hub.endpoint,
    offline: false,
    onNotice: (line: string) => notices.push(line),
    ...extra,
  };
}

describe('resolveHubFiles', () => {
  it('downloads into the Python cache layout: blobs by etag, relative snapshot links, refs/main', async () => {
    const result = await resolveHubFiles(REPO, ['config.json', 'onnx/model.onnx'], online());
    const repoFolder = join(cacheDir, 'models--owner--tiny-gpt2');
    expect(result).toEqual({
      paths: [
        join(repoFolder, 'snapshots', COMMIT, 'config.json'),
        join(repoFolder, 'snapshots', COMMIT, 'onnx', 'model.onnx'),
      ],
      source: 'download',
    });
    expect(await readlink(join(repoFolder, 'snapshots', COMMIT, 'config.json'))).toBe(
      `../../blobs/${HELLO_GIT_OID}`,
    );
    expect(await readlink(join(repoFolder, 'snapshots', COMMIT, 'onnx', 'model.onnx'))).toBe(
      `../../../blobs/${BYTES_SHA256}`,
    );
    expect(await readFile(join(repoFolder, 'blobs', HELLO_GIT_OID), 'utf8')).toBe('hello\n');
    expect([...(await readFile(join(repoFolder, 'blobs', BYTES_SHA256)))]).toEqual([1, 2, 3]);
    expect(await readFile(join(repoFolder, 'refs', 'main'), 'utf8')).toBe(COMMIT);
    expect(notices).toEqual([
      `ptq: downloading ${REPO} config.json (6 B) into the Hugging Face cache (${cacheDir})`,
      `ptq: downloading ${REPO} onnx/model.onnx (3 B) into the Hugging Face cache (${cacheDir})`,
    ]);
  });

  it('resolves from the cache a second time, with the server closed', async () => {
    const first = await resolveHubFiles(REPO, ['config.json', 'onnx/model.onnx'], online());
    await hub.close();
    const second = await resolveHubFiles(REPO, ['config.json', 'onnx/model.onnx'], online());
    expect(second).toEqual({ paths: first.paths, source: 'hf-cache' });
  });

  it('downloads only what is missing, pinned to the commit the branch points to', async () => {
    await resolveHubFiles(REPO, ['config.json'], online());
    hub.requests.length = 0;
    const result = await resolveHubFiles(REPO, ['config.json', 'onnx/model.onnx'], online());
    expect(result.source).toBe('download');
    expect(hub.requests.filter((request) => request.includes('config.json'))).toEqual([]);
    expect(hub.requests[0]).toMatch(/^GET \/api\/models\/owner\/tiny-gpt2\/revision\/main\?/);
    expect(hub.requests.slice(1)).toEqual([
      `POST /api/models/owner/tiny-gpt2/paths-info/${COMMIT}`,
      `GET /owner/tiny-gpt2/resolve/${COMMIT}/onnx/model.onnx`,
      `GET /__cdn/${BYTES_SHA256}`,
      `GET /__cdn/${BYTES_SHA256}`,
    ]);
  });

  it('uses a commit revision directly and writes no ref for it', async () => {
    const result = await resolveHubFiles(REPO, ['config.json'], online({ revision: COMMIT }));
    expect(result.source).toBe('download');
    expect(hub.requests.some((request) => request.includes('/revision/'))).toBe(false);
    await expect(lstat(join(cacheDir, 'models--owner--tiny-gpt2', 'refs', 'main'))).rejects.toThrow();
  });

  it('links a blob already in the cache instead of downloading it again', async () => {
    await populateHubCache(cacheDir, { [REPO]: { commit: 'f'.repeat(40), files: FILES } });
    const result = await resolveHubFiles(REPO, ['onnx/model.onnx'], online({ revision: COMMIT }));
    expect(result.source).toBe('hf-cache');
    expect(hub.requests.some((request) => request.startsWith('GET /__cdn/'))).toBe(false);
    expect(notices).toEqual([]);
  });

  it('reads a pre-populated cache offline without any request', async () => {
    await populateHubCache(cacheDir, { [REPO]: { commit: COMMIT, files: FILES } });
    vi.stubEnv('HF_HUB_OFFLINE', '1');
    const result = await resolveHubFiles(REPO, ['onnx/model.onnx'], { cacheDir, endpoint: hub.endpoint });
    expect(result.source).toBe('hf-cache');
    expect(hub.requests).toEqual([]);
  });

  it('throws HubUnavailableError (offline) when HF_HUB_OFFLINE=1 and files are missing', async () => {
    vi.stubEnv('HF_HUB_OFFLINE', '1');
    const error = await resolveHubFiles(REPO, ['config.json'], { cacheDir, endpoint: hub.endpoint }).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(HubUnavailableError);
    expect(error).toMatchObject({
      code: 'PTQ_HUB_UNAVAILABLE',
      reason: 'offline',
      missing: ['config.json'],
      repo: REPO,
    });
    expect((error as Error).message).toContain('"config.json" is not in the Hugging Face cache');
    expect((error as Error).message).toContain('offline mode is on');
    expect(hub.requests).toEqual([]);
  });

  it('throws HubUnavailableError (unreachable) when the server is gone', async () => {
    await hub.close();
    const error = await resolveHubFiles(REPO, ['config.json', 'onnx/model.onnx'], online()).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(HubUnavailableError);
    expect(error).toMatchObject({ reason: 'unreachable', missing: ['config.json', 'onnx/model.onnx'] });
    expect((error as Error).message).toContain(
      `the hub at ${hub.endpoint} is unreachable: fetch failed (ECONNREFUSED)`,
    );
    expect(PtqError.isInstance(error)).toBe(true);
  });

  it('throws HubFileNotFoundError naming a missing file before downloading anything', async () => {
    const error = await resolveHubFiles(REPO, ['config.json', 'missing.bin'], online()).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(HubFileNotFoundError);
    expect(error).toMatchObject({ code: 'PTQ_HUB_NOT_FOUND', path: 'missing.bin', repo: REPO });
    expect((error as Error).message).toContain('file "missing.bin" was not found');
    expect(hub.requests.some((request) => request.includes('/resolve/'))).toBe(false);
  });

  it('rejects a truncated download and leaves neither blob nor temporary file', async () => {
    const truncating: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      const isFullBody = String(input).includes('/__cdn/') && !new Headers(init?.headers).has('range');
      return isFullBody ? new Response(new Uint8Array([1, 2]), { status: 200 }) : response;
    };
    const error = await resolveHubFiles(REPO, ['onnx/model.onnx'], online({ fetch: truncating })).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(HubUnavailableError);
    expect((error as Error).message).toContain('stopped at 2 of 3 bytes');
    expect(await readdir(join(cacheDir, 'models--owner--tiny-gpt2', 'blobs'))).toEqual([]);
  });

  it('throws HubFileNotFoundError for an unknown repo or revision', async () => {
    const repo = await resolveHubFiles('owner/nothing', ['config.json'], online()).catch(
      (caught: unknown) => caught,
    );
    expect(repo).toBeInstanceOf(HubFileNotFoundError);
    expect(repo).toMatchObject({ path: undefined, repo: 'owner/nothing' });
    expect((repo as Error).message).toContain('Repository not found');
    const revision = await resolveHubFiles(REPO, ['config.json'], online({ revision: 'v9' })).catch(
      (caught: unknown) => caught,
    );
    expect(revision).toBeInstanceOf(HubFileNotFoundError);
    expect((revision as Error).message).toContain('Invalid rev id: v9');
  });

  it('maps 5xx to HubUnavailableError and 403 to HubRequestError, through the fetch option', async () => {
    const status = (code: number): typeof fetch =>
      (async () =>
        new Response('{"error":"nope"}', {
          status: code,
          headers: { 'Content-Type': 'application/json' },
        })) as typeof fetch;
    await expect(
      resolveHubFiles(REPO, ['config.json'], online({ fetch: status(503) })),
    ).rejects.toMatchObject({
      name: 'HubUnavailableError',
      reason: 'unreachable',
    });
    const forbidden = await resolveHubFiles(REPO, ['config.json'], online({ fetch: status(403) })).catch(
      (caught: unknown) => caught,
    );
    expect(forbidden).toBeInstanceOf(HubRequestError);
    expect(forbidden).toMatchObject({ status: 403, code: 'PTQ_HUB_REQUEST' });
  });

  it('sends the access token and rejects one the hub would not accept', async () => {
    const seen: (string | null)[] = [];
    const recording: typeof fetch = (input, init) => {
      seen.push(new Headers(init?.headers).get('authorization'));
      return fetch(input, init);
    };
    await resolveHubFiles(REPO, ['config.json'], online({ fetch: recording, accessToken: 'hf_secret' }));
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.every((header) => header === 'Bearer hf_secret')).toBe(true);
    await expect(resolveHubFiles(REPO, ['onnx/model.onnx'], online({ accessToken: 'bad' }))).rejects.toThrow(
      InvalidArgumentError,
    );
  });

  it('downloads dataset repos under datasets--owner--name from /datasets/ URLs', async () => {
    await hub.close();
    hub = await startFakeHub({
      repos: {
        'abisee/cnn_dailymail': { type: 'dataset', files: { '3.0.0/train-00000-of-00003.parquet': 'rows' } },
      },
    });
    const result = await resolveHubFiles(
      'abisee/cnn_dailymail',
      ['3.0.0/train-00000-of-00003.parquet'],
      online({ repoType: 'dataset' }),
    );
    expect(result.paths[0]).toContain(join(cacheDir, 'datasets--abisee--cnn_dailymail', 'snapshots'));
    expect(await readFile(result.paths[0] ?? '', 'utf8')).toBe('rows');
    expect(
      hub.requests.some((request) => request.startsWith('GET /datasets/abisee/cnn_dailymail/resolve/')),
    ).toBe(true);
  });

  it('rejects bad arguments with InvalidArgumentError', async () => {
    await expect(resolveHubFiles('a/b/c', ['x'], online())).rejects.toThrow('Invalid argument "repo"');
    await expect(resolveHubFiles(REPO, ['/abs'], online())).rejects.toThrow('Invalid argument "paths"');
  });
});
