import { readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';

/** Every file under `directory`, relative to it with `/` separators, sorted. */
export async function listFiles(directory: string): Promise<string[]> {
  const entries = await readdir(directory, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => {
      // `parentPath` is Node ≥ 20.12; earlier 20.x releases call it `path`.
      const parent = entry.parentPath ?? (entry as unknown as { path: string }).path;
      return relative(directory, join(parent, entry.name)).split('\\').join('/');
    })
    .sort();
}
