import { randomBytes } from 'node:crypto';
import type { Dirent } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/**
 * Temporary files and folders beside an output are named `.<name>.tmp-<pid>-<8 hex>` (and
 * `.<name>.old-…` for a folder being replaced): hidden, so no reader mistakes one for the output, and
 * the pid says whether the process that made one is still alive.
 */
const TEMPORARY_NAME = /^\..+\.tmp-(\d+)-[0-9a-f]{8}$/;

/** A fresh name beside `target` for a temporary file or folder of `kind`, carrying this process's pid. */
export function temporarySiblingName(target: string, kind: 'tmp' | 'old'): string {
  return join(
    dirname(target),
    `.${basename(target)}.${kind}-${process.pid}-${randomBytes(4).toString('hex')}`,
  );
}

/** The pid a ptq temporary name carries, or undefined for any other name. */
export function temporaryNamePid(name: string): number | undefined {
  const match = TEMPORARY_NAME.exec(name);
  return match === null ? undefined : Number(match[1]);
}

function isAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, under another user.
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/**
 * Removes the temporary folders a dead process left in `parent` (killed outright, or the machine
 * went down mid-write). Only ptq's own temporary names whose pid is no longer running are touched;
 * returns their names.
 */
export async function sweepStaleTemporaries(parent: string): Promise<string[]> {
  let entries: Dirent[];
  try {
    entries = await readdir(parent, { withFileTypes: true });
  } catch {
    return [];
  }
  const swept: string[] = [];
  for (const entry of entries) {
    const pid = temporaryNamePid(entry.name);
    if (pid === undefined || !entry.isDirectory() || isAlive(pid)) continue;
    await rm(join(parent, entry.name), { recursive: true, force: true });
    swept.push(entry.name);
  }
  return swept.sort();
}

// Synchronous, so that a signal handler can run them just before the process exits.
const cleanups = new Set<() => void>();

/** Registers `action` to run on `removeTemporaryOutputs()`; the returned function unregisters it. */
export function onTemporaryCleanup(action: () => void): () => void {
  cleanups.add(action);
  return () => {
    cleanups.delete(action);
  };
}

/**
 * Removes the temporary files and folders of every atomic write in progress (and puts back a folder
 * that was being replaced), synchronously. For a program's SIGINT / SIGTERM handler, just before it
 * exits.
 */
export function removeTemporaryOutputs(): void {
  for (const action of [...cleanups].reverse()) {
    try {
      action();
    } catch {
      // Best effort: the process is about to exit; the next run sweeps what is left.
    }
  }
  cleanups.clear();
}
