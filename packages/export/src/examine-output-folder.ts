import { lstat, readdir, realpath } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import { summarizeNames } from '@ptq/errors';
import { ExportWriteError } from './errors';
import { OUTPUT_MANIFEST_FILE, readOutputManifest } from './output-manifest';

/**
 * What is at an output path, and so whether ptq may write there:
 *
 * - `absent`, `empty`: write freely;
 * - `previous-output`: a folder ptq wrote (its `ptq-manifest.json` lists every file, at the size
 *   written), replaced only when the caller asks to overwrite;
 * - `protected`: never replaced, with the reason.
 */
export type OutputFolderState =
  | { readonly kind: 'absent' }
  | { readonly kind: 'empty' }
  | { readonly kind: 'previous-output' }
  | { readonly kind: 'protected'; readonly reason: string };

export interface ExamineOutputFolderOptions {
  /** Folders an output must never replace, be inside of or contain (the model it was made from). */
  readonly protectedFolders?: readonly string[];
  /** The folder never replaced, nor any folder holding it (default: `process.cwd()`). */
  readonly workingFolder?: string;
}

function isInside(child: string, parent: string): boolean {
  return child.startsWith(parent.endsWith(sep) ? parent : parent + sep);
}

async function realOrResolved(path: string): Promise<string> {
  try {
    return await realpath(path);
  } catch {
    return resolve(path);
  }
}

/** The working folder, or undefined when it has been deleted (then no folder holds it). */
function currentFolder(): string | undefined {
  try {
    return process.cwd();
  } catch {
    return undefined;
  }
}

/** Examines `target` without changing anything (see `OutputFolderState`). */
export async function examineOutputFolder(
  target: string,
  options: ExamineOutputFolderOptions = {},
): Promise<OutputFolderState> {
  const path = resolve(target);
  let stats: Awaited<ReturnType<typeof lstat>>;
  try {
    stats = await lstat(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'absent' };
    throw new ExportWriteError(path, `cannot be examined (${(error as Error).message})`, { cause: error });
  }
  if (stats.isSymbolicLink()) {
    return {
      kind: 'protected',
      reason: 'is a symbolic link; ptq never replaces a link or what it points to',
    };
  }
  if (!stats.isDirectory()) return { kind: 'protected', reason: 'exists and is not a folder' };

  // Compared through real paths, so a path through a link to the same folder is recognised.
  const real = await realOrResolved(path);
  const working = options.workingFolder ?? currentFolder();
  if (working !== undefined) {
    const workingFolder = await realOrResolved(working);
    if (real === workingFolder) return { kind: 'protected', reason: 'is the working folder' };
    if (isInside(workingFolder, real)) {
      return { kind: 'protected', reason: `holds the working folder ${workingFolder}` };
    }
  }
  for (const folder of options.protectedFolders ?? []) {
    const source = await realOrResolved(folder);
    if (real === source) return { kind: 'protected', reason: 'is the folder of the model being read' };
    if (isInside(source, real)) {
      return { kind: 'protected', reason: `holds the folder of the model being read (${source})` };
    }
    if (isInside(real, source)) {
      return { kind: 'protected', reason: `is inside the folder of the model being read (${source})` };
    }
  }

  // The top level first: a folder without a manifest is refused without walking all of it.
  const top = (await readdir(path)).sort();
  if (top.length === 0) return { kind: 'empty' };
  const manifest = await readOutputManifest(path);
  if (manifest === undefined) {
    return {
      kind: 'protected',
      reason: `holds files ptq did not write (${summarizeNames(top, 3)}; no ${OUTPUT_MANIFEST_FILE})`,
    };
  }
  if (typeof manifest === 'string') return { kind: 'protected', reason: manifest };

  // Every entry must be a file the manifest lists, at the size written, or a folder holding one.
  const sizes = new Map(manifest.files.map((entry) => [entry.path, entry.bytes]));
  const folders = new Set<string>();
  for (const file of sizes.keys()) {
    const parts = file.split('/');
    for (let length = 1; length < parts.length; length++) folders.add(parts.slice(0, length).join('/'));
  }
  const entries = await readdir(path, { recursive: true, withFileTypes: true });
  const added: string[] = [];
  const changed: string[] = [];
  for (const entry of entries) {
    const parent = entry.parentPath ?? (entry as unknown as { path: string }).path;
    const name = relative(path, join(parent, entry.name)).split(sep).join('/');
    if (name === OUTPUT_MANIFEST_FILE) continue;
    if (entry.isDirectory() && folders.has(name)) continue;
    const bytes = sizes.get(name);
    if (bytes === undefined || !entry.isFile()) added.push(name);
    else if ((await lstat(join(path, name))).size !== bytes) changed.push(name);
  }
  if (added.length > 0) {
    return {
      kind: 'protected',
      reason: `is a ptq output to which files were added (${summarizeNames(added.sort(), 3)})`,
    };
  }
  if (changed.length > 0) {
    return {
      kind: 'protected',
      reason: `is a ptq output whose files were changed since (${summarizeNames(changed.sort(), 3)})`,
    };
  }
  return { kind: 'previous-output' };
}
