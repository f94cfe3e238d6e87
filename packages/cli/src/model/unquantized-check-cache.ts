import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';
import { writeFileAtomically } from '@ptq/files';
import type { PerplexityResult } from '@ptq/hf-gpt2';
import packageJson from '../../package.json' with { type: 'json' };

/**
 * The unquantized model's perplexity on a check's tokens does not depend on the mode, so `quantize`
 * keeps it here and a later run of the same model on the same text skips the unquantized runtime
 * model altogether (its build, compile and forward were half of `--check fast`).
 *
 * Entries are small JSON files named by a hash of everything the figure depends on: this ptq
 * version, the model folder's files (name, size, modification time), the token ids, the window,
 * the device and the dtype. `PTQ_CACHE_DIR` moves the folder; `PTQ_CACHE_DIR=off` turns it off.
 */
export interface CheckCacheKey {
  readonly modelFolder: string;
  readonly tokens: BigInt64Array;
  readonly window: number;
  readonly device: string;
  readonly dtype: string;
}

/** The folder entries go to, or undefined when caching is off. */
export function checkCacheDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const explicit = env.PTQ_CACHE_DIR;
  if (explicit === 'off') return undefined;
  if (explicit !== undefined && explicit !== '') return path.resolve(explicit);
  const xdgCache = env.XDG_CACHE_HOME;
  const base = xdgCache !== undefined && xdgCache !== '' ? xdgCache : path.join(homedir(), '.cache');
  return path.resolve(base, 'ptq');
}

/** The entry's file name: a SHA-256 of the key, with the model folder's files as they are now. */
export async function checkCacheEntryName(key: CheckCacheKey): Promise<string> {
  const hash = createHash('sha256');
  hash.update(
    JSON.stringify({
      version: packageJson.version,
      window: key.window,
      device: key.device,
      dtype: key.dtype,
    }),
  );
  const folder = path.resolve(key.modelFolder);
  hash.update(`\0${folder}`);
  for (const name of (await readdir(folder)).sort()) {
    // stat follows links, so a hub snapshot's links are keyed by the files they point to.
    const stats = await stat(path.join(folder, name)).catch(() => undefined);
    if (stats?.isFile()) hash.update(`\0${name}\0${stats.size}\0${stats.mtimeMs}`);
  }
  hash.update('\0');
  hash.update(new Uint8Array(key.tokens.buffer, key.tokens.byteOffset, key.tokens.byteLength));
  return `unquantized-perplexity-${hash.digest('hex')}.json`;
}

/** The cached figure, or undefined when there is none (or it cannot be read as one). */
export async function readCachedPerplexity(
  cacheDir: string,
  key: CheckCacheKey,
): Promise<PerplexityResult | undefined> {
  const file = path.join(cacheDir, await checkCacheEntryName(key));
  const text = await readFile(file, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  try {
    const { perplexity, negativeLogLikelihood, tokenCount } = JSON.parse(text) as Record<string, unknown>;
    const valid =
      typeof perplexity === 'number' &&
      Number.isFinite(perplexity) &&
      typeof negativeLogLikelihood === 'number' &&
      Number.isFinite(negativeLogLikelihood) &&
      typeof tokenCount === 'number' &&
      Number.isSafeInteger(tokenCount) &&
      tokenCount > 0 &&
      tokenCount < key.tokens.length;
    return valid ? { perplexity, negativeLogLikelihood, tokenCount } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Stores the figure (temporary file, then rename). A cache that cannot be written costs only the
 * next run's time, so a failure is reported through `onNotice` and the run goes on.
 */
export async function writeCachedPerplexity(
  cacheDir: string,
  key: CheckCacheKey,
  result: PerplexityResult,
  onNotice: (message: string) => void,
): Promise<void> {
  const file = path.join(cacheDir, await checkCacheEntryName(key));
  const { perplexity, negativeLogLikelihood, tokenCount } = result;
  try {
    await mkdir(cacheDir, { recursive: true });
    await writeFileAtomically(file, async (handle) => {
      await handle.writeFile(`${JSON.stringify({ perplexity, negativeLogLikelihood, tokenCount })}\n`);
    });
  } catch (error) {
    onNotice(
      `ptq: could not keep the unquantized perplexity in ${cacheDir} (${error instanceof Error ? error.message : String(error)}); set PTQ_CACHE_DIR to a writable folder, or to off`,
    );
  }
}
