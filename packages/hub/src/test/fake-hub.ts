import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { COMMIT_DATE, digest, type FakeHubRepo, type FakeRepo, toFakeRepo } from './fake-repo';

export interface FakeHubOptions {
  repos: Record<string, FakeHubRepo>;
}

export interface FakeHub {
  /** `http://127.0.0.1:<port>`, to pass as `endpoint` (or `HF_ENDPOINT`). */
  endpoint: string;
  /** Every request received, as `METHOD /path?query`, in order. */
  requests: string[];
  close(): Promise<void>;
}

/** The directories implied by the file paths (`a/b/c.txt` → `a`, `a/b`). */
function directoriesOf(repo: FakeRepo): Set<string> {
  const directories = new Set<string>();
  for (const path of repo.files.keys()) {
    const parts = path.split('/');
    for (let end = 1; end < parts.length; end++) directories.add(parts.slice(0, end).join('/'));
  }
  return directories;
}

function sendJson(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': String(Buffer.byteLength(text)),
    ...headers,
  });
  response.end(text);
}

function sendError(response: ServerResponse, status: number, code: string, message: string): void {
  sendJson(response, status, { error: message }, { 'X-Error-Code': code, 'X-Error-Message': message });
}

/** Serves bytes with single-range support, as the hub and its CDN do. */
function sendBytes(
  request: IncomingMessage,
  response: ServerResponse,
  bytes: Uint8Array,
  headers: Record<string, string>,
): void {
  const common = { 'Accept-Ranges': 'bytes', 'Content-Type': 'application/octet-stream', ...headers };
  const range = request.headers.range;
  const match = range === undefined ? null : /^bytes=(\d*)-(\d*)$/.exec(range);
  if (range !== undefined) {
    const start = match?.[1] === '' ? Number.NaN : Number(match?.[1]);
    const end = match?.[2] === '' || match?.[2] === undefined ? bytes.length - 1 : Number(match[2]);
    if (match === null || !(start <= end) || start >= bytes.length) {
      response.writeHead(416, { ...common, 'Content-Range': `bytes */${bytes.length}` });
      response.end();
      return;
    }
    const last = Math.min(end, bytes.length - 1);
    response.writeHead(206, {
      ...common,
      'Content-Range': `bytes ${start}-${last}/${bytes.length}`,
      'Content-Length': String(last - start + 1),
    });
    response.end(request.method === 'HEAD' ? undefined : bytes.subarray(start, last + 1));
    return;
  }
  response.writeHead(200, { ...common, 'Content-Length': String(bytes.length) });
  response.end(request.method === 'HEAD' ? undefined : bytes);
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function treeEntry(repo: FakeRepo, path: string, expand: boolean): Record<string, unknown> {
  const lastCommit = expand ? { lastCommit: { id: repo.commit, title: 'Upload', date: COMMIT_DATE } } : {};
  const file = repo.files.get(path);
  if (file === undefined) {
    return {
      type: 'directory',
      oid: digest('sha1', `tree ${repo.id}/${path}`),
      size: 0,
      path,
      ...lastCommit,
    };
  }
  return {
    type: 'file',
    oid: file.oid,
    size: file.bytes.length,
    path,
    ...(file.lfs === undefined ? {} : { lfs: file.lfs }),
    ...lastCommit,
  };
}

/**
 * Starts a local HTTP server that answers the requests `@huggingface/hub` (and Python
 * `huggingface_hub`) make to download files: `resolve` (GET with ranges, HEAD, LFS redirect to a CDN
 * path), `paths-info`, `tree` and `revision`. Unknown repos get 401 `RepoNotFound`, unknown
 * revisions 404 `RevisionNotFound`, unknown files 404 `EntryNotFound`, as on huggingface.co.
 */
export async function startFakeHub(options: FakeHubOptions): Promise<FakeHub> {
  // Longest id first, so `owner/name` is not taken for a model called `owner`.
  const repos = Object.entries(options.repos)
    .map(([id, repo]) => toFakeRepo(id, repo))
    .sort((left, right) => right.id.length - left.id.length);
  const blobs = new Map<string, Uint8Array>();
  for (const repo of repos) {
    for (const file of repo.files.values()) if (file.lfs !== undefined) blobs.set(file.lfs.oid, file.bytes);
  }
  const requests: string[] = [];

  const findRepo = (pathname: string, prefixOf: (repo: FakeRepo) => string) =>
    repos.find((repo) => pathname.startsWith(prefixOf(repo)));

  const revisionOf = (repo: FakeRepo, encoded: string): boolean => {
    const revision = decodeURIComponent(encoded);
    return revision === repo.revision || revision === repo.commit;
  };

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    const method = request.method ?? 'GET';
    requests.push(`${method} ${url.pathname}${url.search}`);
    const { pathname } = url;

    if (pathname.startsWith('/__cdn/')) {
      const blob = blobs.get(pathname.slice('/__cdn/'.length));
      if (blob === undefined) return sendError(response, 404, 'EntryNotFound', 'Blob not found');
      return sendBytes(request, response, blob, { ETag: `"${pathname.slice('/__cdn/'.length)}"` });
    }

    if (pathname.startsWith('/api/')) {
      const repo = findRepo(pathname, (candidate) => `/api/${candidate.type}s/${candidate.id}/`);
      if (repo === undefined) return sendError(response, 401, 'RepoNotFound', 'Repository not found');
      const [action = '', revision = '', ...rest] = pathname
        .slice(`/api/${repo.type}s/${repo.id}/`.length)
        .split('/');
      if (!revisionOf(repo, revision)) {
        return sendError(
          response,
          404,
          'RevisionNotFound',
          `Invalid rev id: ${decodeURIComponent(revision)}`,
        );
      }
      if (action === 'revision' && method === 'GET') {
        return sendJson(response, 200, {
          _id: digest('sha1', repo.id).slice(0, 24),
          id: repo.id,
          sha: repo.commit,
          private: false,
          gated: false,
          disabled: false,
          downloads: 0,
          likes: 0,
          lastModified: COMMIT_DATE,
          siblings: [...repo.files.keys()].sort().map((rfilename) => ({ rfilename })),
        });
      }
      if (action === 'paths-info' && method === 'POST') {
        const body = JSON.parse((await readBody(request)) || '{}') as { paths?: unknown; expand?: unknown };
        const asked = Array.isArray(body.paths) ? body.paths.filter((path) => typeof path === 'string') : [];
        const directories = directoriesOf(repo);
        const known = asked.filter((path) => repo.files.has(path) || directories.has(path));
        return sendJson(
          response,
          200,
          known.map((path) => treeEntry(repo, path, body.expand === true)),
        );
      }
      if (action === 'tree' && method === 'GET') {
        const folder = rest.map(decodeURIComponent).join('/');
        const recursive = url.searchParams.get('recursive') === 'true';
        const expand = url.searchParams.get('expand') === 'true';
        const directories = directoriesOf(repo);
        if (folder !== '' && !directories.has(folder)) {
          return sendError(response, 404, 'EntryNotFound', `${folder} does not exist on "${repo.revision}"`);
        }
        const prefix = folder === '' ? '' : `${folder}/`;
        const entries = [...directories, ...repo.files.keys()]
          .filter((path) => path.startsWith(prefix))
          .filter((path) => recursive || !path.slice(prefix.length).includes('/'))
          .sort();
        return sendJson(
          response,
          200,
          entries.map((path) => treeEntry(repo, path, expand)),
        );
      }
      return sendError(response, 404, 'NotFound', 'Not found');
    }

    if (method === 'GET' || method === 'HEAD') {
      const repo = findRepo(
        pathname,
        (candidate) => `/${candidate.type === 'model' ? '' : 'datasets/'}${candidate.id}/`,
      );
      const [action = '', revision = '', ...rest] =
        repo === undefined
          ? []
          : pathname.slice(`/${repo.type === 'model' ? '' : 'datasets/'}${repo.id}/`.length).split('/');
      if (repo === undefined || action !== 'resolve') {
        return sendError(response, 401, 'RepoNotFound', 'Repository not found');
      }
      if (!revisionOf(repo, revision)) {
        return sendError(
          response,
          404,
          'RevisionNotFound',
          `Invalid rev id: ${decodeURIComponent(revision)}`,
        );
      }
      const file = repo.files.get(rest.map(decodeURIComponent).join('/'));
      if (file === undefined) return sendError(response, 404, 'EntryNotFound', 'Entry not found');
      const repoHeaders = { 'X-Repo-Commit': repo.commit };
      if (file.lfs !== undefined) {
        response.writeHead(302, {
          ...repoHeaders,
          Location: `/__cdn/${file.lfs.oid}`,
          ETag: `"${file.oid}"`,
          'X-Linked-Etag': `"${file.lfs.oid}"`,
          'X-Linked-Size': String(file.lfs.size),
          'Content-Length': '0',
        });
        response.end();
        return;
      }
      return sendBytes(request, response, file.bytes, { ...repoHeaders, ETag: `"${file.oid}"` });
    }
    return sendError(response, 405, 'MethodNotAllowed', `${method} is not served`);
  };

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (!response.headersSent) sendError(response, 500, 'InternalError', String(error));
      else response.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    close: () => {
      closing ??= new Promise<void>((resolve, reject) => {
        server.close((error) => (error === undefined ? resolve() : reject(error)));
        // fetch keeps connections alive; drop them so close() returns now.
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
