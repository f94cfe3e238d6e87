import { lstat, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { listFiles } from './list-files';
import { PRODUCER } from './producer';

/** The file ptq writes into every output folder, listing what it wrote there. */
export const OUTPUT_MANIFEST_FILE = 'ptq-manifest.json';

/** One file ptq wrote: its path relative to the folder (`/` separators) and its size. */
export interface ManifestEntry {
  readonly path: string;
  readonly bytes: number;
}

/** What `ptq-manifest.json` holds. */
export interface OutputManifest {
  readonly producer: { readonly name: string; readonly version: string };
  /** Every file of the folder but the manifest itself, sorted by path. */
  readonly files: readonly ManifestEntry[];
}

// A manifest lists a handful of files; anything much bigger is not one ptq wrote.
const MAX_MANIFEST_BYTES = 1024 * 1024;

/** Lists the files of `directory` (written by ptq) into its `ptq-manifest.json`. */
export async function writeOutputManifest(directory: string): Promise<OutputManifest> {
  const files: ManifestEntry[] = [];
  for (const path of await listFiles(directory)) {
    if (path === OUTPUT_MANIFEST_FILE) continue;
    files.push({ path, bytes: (await lstat(join(directory, path))).size });
  }
  const manifest: OutputManifest = { producer: { ...PRODUCER }, files };
  await writeFile(join(directory, OUTPUT_MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

/**
 * The manifest of `directory`: the manifest, `undefined` when there is none, or a string saying why
 * the one there is not a manifest ptq wrote.
 */
export async function readOutputManifest(directory: string): Promise<OutputManifest | undefined | string> {
  const file = join(directory, OUTPUT_MANIFEST_FILE);
  let size: number;
  try {
    const stats = await lstat(file);
    if (!stats.isFile()) return `${OUTPUT_MANIFEST_FILE} is not a regular file`;
    size = stats.size;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    return `${OUTPUT_MANIFEST_FILE} cannot be read (${(error as NodeJS.ErrnoException).code})`;
  }
  if (size > MAX_MANIFEST_BYTES) return `${OUTPUT_MANIFEST_FILE} is ${size} bytes, more than a manifest`;
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8'));
  } catch {
    return `${OUTPUT_MANIFEST_FILE} is not valid JSON`;
  }
  return isManifest(parsed) ? parsed : `${OUTPUT_MANIFEST_FILE} is not a ptq manifest`;
}

function isManifest(value: unknown): value is OutputManifest {
  if (typeof value !== 'object' || value === null) return false;
  const { producer, files } = value as Record<string, unknown>;
  return (
    typeof producer === 'object' &&
    producer !== null &&
    (producer as Record<string, unknown>).name === PRODUCER.name &&
    Array.isArray(files) &&
    files.every(
      (entry: unknown) =>
        typeof entry === 'object' &&
        entry !== null &&
        typeof (entry as Record<string, unknown>).path === 'string' &&
        Number.isSafeInteger((entry as Record<string, unknown>).bytes),
    )
  );
}
