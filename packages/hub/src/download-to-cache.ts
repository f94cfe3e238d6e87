import { rmSync } from 'node:fs';
import { copyFile, lstat, mkdir, rename, rm, symlink } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { Readable } from 'node:stream';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import { downloadFile, type PathInfo } from '@huggingface/hub';
import {
  type AtomicWriteFailure,
  onTemporaryCleanup,
  temporarySiblingName,
  writeFileAtomically,
} from '@ptq/files';
import { HubFileNotFoundError, HubUnavailableError } from './hub-errors';
import type { NormalizedResolveOptions } from './resolve-options';

export interface CacheDownload {
  repo: string;
  path: string;
  commit: string;
  info: PathInfo;
  storageFolder: string;
  options: NormalizedResolveOptions;
  fetch: typeof fetch;
  accessToken: string | undefined;
}

// Failures keep their own errors (a network error, HubUnavailableError), as before.
const passCause = ({ cause }: AtomicWriteFailure): unknown => cause;

/** Blob names come from the server and become file names: accept only hex digests. */
const BLOB_NAME = /^[0-9a-f]{40,128}$/;

/** What happened for one file: its snapshot path and whether bytes crossed the network. */
export interface CacheDownloadResult {
  path: string;
  downloaded: boolean;
}

/**
 * Puts one repo file into the cache exactly as Python `huggingface_hub` does: the bytes in
 * `blobs/<etag>` (the LFS sha256 or the git blob sha1), a relative symlink from
 * `snapshots/<commit>/<path>`. A blob already present (from another revision) is only linked.
 */
export async function downloadToCache(download: CacheDownload): Promise<CacheDownloadResult> {
  const { repo, path, commit, info, storageFolder, options } = download;
  const etag = info.lfs?.oid ?? info.xetHash ?? info.oid;
  if (etag === undefined || !BLOB_NAME.test(etag)) {
    throw new HubUnavailableError(
      repo,
      [path],
      'unreachable',
      `${repo}@${commit}: the hub gave no usable content hash for "${path}" (got ${JSON.stringify(etag)})`,
    );
  }
  const blobPath = join(storageFolder, 'blobs', etag);
  const pointerPath = join(storageFolder, 'snapshots', commit, ...path.split('/'));
  await mkdir(dirname(blobPath), { recursive: true });
  await mkdir(dirname(pointerPath), { recursive: true });

  const downloaded = !(await exists(blobPath));
  if (downloaded) {
    const expectedSize = info.lfs?.size ?? info.size;
    options.onNotice(
      `ptq: downloading ${repo} ${path} (${formatBytes(expectedSize)}) into the Hugging Face cache (${options.cacheDir})`,
    );
    const blob = await downloadFile({
      repo: { type: options.repoType, name: repo },
      path,
      revision: commit,
      hubUrl: options.endpoint,
      fetch: download.fetch,
      accessToken: download.accessToken,
    });
    if (blob === null) {
      throw new HubFileNotFoundError(
        repo,
        commit,
        path,
        `${repo}@${commit}: file "${path}" was not found on the hub`,
      );
    }
    // A temporary name unique to this process: two processes may fetch the same blob at once; the
    // rename makes it appear whole.
    await writeFileAtomically(
      blobPath,
      async (handle) => {
        // `writeFile` writes each chunk whole, at the current position.
        for await (const chunk of Readable.fromWeb(blob.stream() as NodeReadableStream<Uint8Array>)) {
          await handle.writeFile(chunk as Uint8Array);
        }
        const size = (await handle.stat()).size;
        if (size !== expectedSize) {
          throw new HubUnavailableError(
            repo,
            [path],
            'unreachable',
            `${repo}@${commit}: download of "${path}" stopped at ${size} of ${expectedSize} bytes`,
          );
        }
      },
      { toError: passCause },
    );
  }
  await linkAtomically(blobPath, pointerPath);
  return { path: pointerPath, downloaded };
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch {
    return false;
  }
}

/** A relative symlink (the cache folder can move), made under a temporary name then renamed into place. */
async function linkAtomically(blobPath: string, pointerPath: string): Promise<void> {
  const temporary = temporarySiblingName(pointerPath, 'tmp');
  const forgetTemporary = onTemporaryCleanup(() => rmSync(temporary, { force: true }));
  try {
    try {
      await symlink(relative(dirname(pointerPath), blobPath), temporary);
    } catch {
      // No symlinks (some Windows setups): Python copies the blob instead; so do we.
      await copyFile(blobPath, temporary);
    }
    await rename(temporary, pointerPath);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  } finally {
    forgetTemporary();
  }
}

/** Writes `refs/<revision>` = commit, as Python does for every revision that is not a commit hash. */
export async function writeRef(storageFolder: string, revision: string, commit: string): Promise<void> {
  const refPath = join(storageFolder, 'refs', ...revision.split('/'));
  await mkdir(dirname(refPath), { recursive: true });
  await writeFileAtomically(refPath, (handle) => handle.writeFile(commit, 'utf8'), { toError: passCause });
}

/** `1.5 MB`, for notices. */
export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 'B';
  for (const next of units) {
    if (value < 1000) break;
    value /= 1000;
    unit = next;
  }
  return `${value.toFixed(1)} ${unit}`;
}
