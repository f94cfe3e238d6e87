import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { downloadFileToCacheDir, listFiles } from '@huggingface/hub';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type FakeHub, startFakeHub } from './fake-hub';

// Well-known digests, independent of this code: `git hash-object` of "hello\n", sha256 of 01 02 03.
const HELLO_GIT_OID = 'ce013625030ba8dba906f756967f9e9ca394464a';
const BYTES_SHA256 = '039058c6f2c0cb492c533b0a4d14ef77cc0f78abccced5287d84a1a2011cfb81';
const COMMIT = '0123456789abcdef0123456789abcdef01234567';

let hub: FakeHub;

beforeEach(async () => {
  hub = await startFakeHub({
    repos: {
      'owner/model': {
        commit: COMMIT,
        files: { 'config.json': 'hello\n', 'weights/model.bin': new Uint8Array([1, 2, 3]) },
      },
      'owner/data': { type: 'dataset', files: { 'a/b.txt': 'hello\n' } },
    },
  });
});

afterEach(async () => {
  await hub.close();
});

describe('startFakeHub', () => {
  it('answers HEAD on a git file like the hub: ETag, X-Repo-Commit, Content-Length', async () => {
    const response = await fetch(`${hub.endpoint}/owner/model/resolve/main/config.json`, { method: 'HEAD' });
    expect(response.status).toBe(200);
    expect(response.headers.get('etag')).toBe(`"${HELLO_GIT_OID}"`);
    expect(response.headers.get('x-repo-commit')).toBe(COMMIT);
    expect(response.headers.get('content-length')).toBe('6');
  });

  it('redirects an LFS file to the CDN with X-Linked-Etag and X-Linked-Size', async () => {
    const response = await fetch(`${hub.endpoint}/owner/model/resolve/main/weights/model.bin`, {
      method: 'HEAD',
      redirect: 'manual',
    });
    expect(response.status).toBe(302);
    expect(response.headers.get('location')).toBe(`/__cdn/${BYTES_SHA256}`);
    expect(response.headers.get('x-linked-etag')).toBe(`"${BYTES_SHA256}"`);
    expect(response.headers.get('x-linked-size')).toBe('3');
    expect(response.headers.get('x-repo-commit')).toBe(COMMIT);
  });

  it('serves byte ranges with Content-Range', async () => {
    const response = await fetch(`${hub.endpoint}/owner/model/resolve/${COMMIT}/weights/model.bin`, {
      headers: { Range: 'bytes=1-1' },
    });
    expect(response.status).toBe(206);
    expect(response.headers.get('content-range')).toBe('bytes 1-1/3');
    expect([...new Uint8Array(await response.arrayBuffer())]).toEqual([2]);
    const unsatisfiable = await fetch(`${hub.endpoint}/owner/model/resolve/main/config.json`, {
      headers: { Range: 'bytes=9-' },
    });
    expect(unsatisfiable.status).toBe(416);
  });

  it('gives the hub error codes for a missing file, revision and repo', async () => {
    const file = await fetch(`${hub.endpoint}/owner/model/resolve/main/nope.json`);
    expect([file.status, file.headers.get('x-error-code')]).toEqual([404, 'EntryNotFound']);
    const revision = await fetch(`${hub.endpoint}/owner/model/resolve/v9/config.json`);
    expect([revision.status, revision.headers.get('x-error-code')]).toEqual([404, 'RevisionNotFound']);
    const repo = await fetch(`${hub.endpoint}/owner/other/resolve/main/config.json`);
    expect([repo.status, repo.headers.get('x-error-code')]).toEqual([401, 'RepoNotFound']);
    // A dataset is not served under the model URL.
    const wrongType = await fetch(`${hub.endpoint}/owner/data/resolve/main/a/b.txt`);
    expect(wrongType.status).toBe(401);
  });

  it('lists trees recursively or one level, with LFS details', async () => {
    const entries = [];
    for await (const entry of listFiles({ repo: 'owner/model', recursive: true, hubUrl: hub.endpoint })) {
      entries.push(entry);
    }
    expect(entries.map((entry) => [entry.type, entry.path])).toEqual([
      ['file', 'config.json'],
      ['directory', 'weights'],
      ['file', 'weights/model.bin'],
    ]);
    expect(entries[2]?.lfs).toMatchObject({ oid: BYTES_SHA256, size: 3 });
    const top = [];
    for await (const entry of listFiles({ repo: 'owner/model', hubUrl: hub.endpoint })) top.push(entry.path);
    expect(top).toEqual(['config.json', 'weights']);
  });

  it('works with @huggingface/hub downloadFileToCacheDir end to end', async () => {
    const cacheDir = await mkdtemp(join(tmpdir(), 'ptq-fake-hub-'));
    vi.spyOn(console, 'debug').mockImplementation(() => {});
    try {
      const pointer = await downloadFileToCacheDir({
        repo: { type: 'dataset', name: 'owner/data' },
        path: 'a/b.txt',
        revision: 'main',
        hubUrl: hub.endpoint,
        cacheDir,
      });
      expect(await readFile(pointer, 'utf8')).toBe('hello\n');
      expect(pointer.startsWith(join(cacheDir, 'datasets--owner--data', 'snapshots'))).toBe(true);
      expect(await readFile(join(cacheDir, 'datasets--owner--data', 'blobs', HELLO_GIT_OID), 'utf8')).toBe(
        'hello\n',
      );
    } finally {
      vi.restoreAllMocks();
      await rm(cacheDir, { recursive: true, force: true });
    }
  });

  it('records every request in order', async () => {
    await fetch(`${hub.endpoint}/api/models/owner/model/revision/main?expand=sha`);
    await fetch(`${hub.endpoint}/api/models/owner/model/paths-info/main`, {
      method: 'POST',
      body: '{"paths":[]}',
    });
    expect(hub.requests).toEqual([
      'GET /api/models/owner/model/revision/main?expand=sha',
      'POST /api/models/owner/model/paths-info/main',
    ]);
  });
});
