import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';

/** Files under a folder (relative paths, sorted) and their total size in bytes. */
export async function folderFiles(folder: string): Promise<{ files: string[]; bytes: number }> {
  const entries = await readdir(folder, { recursive: true, withFileTypes: true });
  const files: string[] = [];
  let bytes = 0;
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    const absolute = path.join(entry.parentPath, entry.name);
    files.push(path.relative(folder, absolute));
    bytes += (await stat(absolute)).size;
  }
  files.sort();
  return { files, bytes };
}
