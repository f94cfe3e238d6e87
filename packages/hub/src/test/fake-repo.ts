import { createHash } from 'node:crypto';

export interface FakeHubRepo {
  /** @default 'model' */
  type?: 'model' | 'dataset';
  /** The branch the files are on. @default 'main' */
  revision?: string;
  /** The commit `revision` points to. @default a hash derived from the repo and its files */
  commit?: string;
  /**
   * Repo files by path. `Uint8Array` files are served like Git LFS files (302 to a CDN URL,
   * `X-Linked-Etag` = sha256); strings like small git files (served directly, `ETag` = git blob sha1).
   */
  files: Record<string, Uint8Array | string>;
}

export interface FakeFile {
  path: string;
  bytes: Uint8Array;
  /** Git object id: of the bytes, or of the LFS pointer for LFS files. */
  oid: string;
  lfs: { oid: string; size: number; pointerSize: number } | undefined;
}

export interface FakeRepo {
  id: string;
  type: 'model' | 'dataset';
  revision: string;
  commit: string;
  files: Map<string, FakeFile>;
}

export function digest(algorithm: 'sha1' | 'sha256', ...parts: (string | Uint8Array)[]): string {
  const hash = createHash(algorithm);
  for (const part of parts) hash.update(part);
  return hash.digest('hex');
}

export function gitBlobOid(bytes: Uint8Array): string {
  return digest('sha1', `blob ${bytes.length}\0`, bytes);
}

function toFakeFile(path: string, content: Uint8Array | string): FakeFile {
  if (typeof content === 'string') {
    const bytes = new TextEncoder().encode(content);
    return { path, bytes, oid: gitBlobOid(bytes), lfs: undefined };
  }
  const sha256 = digest('sha256', content);
  const pointer = new TextEncoder().encode(
    `version https://git-lfs.github.com/spec/v1\noid sha256:${sha256}\nsize ${content.length}\n`,
  );
  return {
    path,
    bytes: content,
    oid: gitBlobOid(pointer),
    lfs: { oid: sha256, size: content.length, pointerSize: pointer.length },
  };
}

export function toFakeRepo(id: string, repo: FakeHubRepo): FakeRepo {
  const files = new Map(
    Object.entries(repo.files).map(([path, content]) => [path, toFakeFile(path, content)]),
  );
  const revision = repo.revision ?? 'main';
  const listing = [...files.values()].map((file) => `${file.path}:${file.oid}`).sort();
  return {
    id,
    type: repo.type ?? 'model',
    revision,
    commit: repo.commit ?? digest('sha1', `${id}\n${revision}\n${listing.join('\n')}`),
    files,
  };
}

export const COMMIT_DATE = '2024-01-01T00:00:00.000Z';
