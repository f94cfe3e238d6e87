import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

/** Python's `os.path.expanduser` for the one form that matters in environment variables: a leading `~`. */
function expandHome(path: string): string {
  if (path === '~') return homedir();
  if (path.startsWith('~/')) return join(homedir(), path.slice(2));
  return path;
}

/** A variable counts only when set to a non-empty value, as in Python `huggingface_hub`. */
function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

/**
 * The Hugging Face hub cache folder, resolved as Python `huggingface_hub` does:
 * `HF_HUB_CACHE` → `HUGGINGFACE_HUB_CACHE` → `$HF_HOME/hub` → `$XDG_CACHE_HOME/huggingface/hub` →
 * `~/.cache/huggingface/hub`. Returns an absolute path.
 */
export function hubCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const explicit = nonEmpty(env.HF_HUB_CACHE) ?? nonEmpty(env.HUGGINGFACE_HUB_CACHE);
  if (explicit !== undefined) return resolve(expandHome(explicit));
  const hfHome = nonEmpty(env.HF_HOME);
  if (hfHome !== undefined) return resolve(expandHome(hfHome), 'hub');
  const xdgCache = nonEmpty(env.XDG_CACHE_HOME);
  if (xdgCache !== undefined) return resolve(expandHome(xdgCache), 'huggingface', 'hub');
  return join(homedir(), '.cache', 'huggingface', 'hub');
}
