import { stat } from 'node:fs/promises';
import path from 'node:path';
import { decodeText, readRegularFile } from '@ptq/files';
import { findInCache, listCachedRepoFiles, listRepoFiles, resolveHubFiles } from '@ptq/hub';
import { MissingTokenizerError, ModelNotFoundError } from './errors';
import { TOKENIZER_FILES } from './tokenizer';

export interface ResolveModelFolderOptions {
  /** Branch, tag or commit of a hub repo (default 'main'). */
  readonly revision?: string;
  /** Hugging Face hub cache (default: HF_HUB_CACHE, else HF_HOME/hub, else ~/.cache/huggingface/hub). */
  readonly cacheDir?: string;
  /** Hub endpoint (default: HF_ENDPOINT, else https://huggingface.co). */
  readonly endpoint?: string;
  /** Never download (default: HF_HUB_OFFLINE). */
  readonly offline?: boolean;
  /** One line per download or fallback. */
  readonly onNotice?: (message: string) => void;
}

export interface ResolvedModelFolder {
  readonly folder: string;
  /** `local`: a folder path; `hf-cache`: every file was in the hub cache; `download`: some were fetched. */
  readonly source: 'local' | 'hf-cache' | 'download';
}

const CONFIG_FILE = 'config.json';
const SINGLE_FILE = 'model.safetensors';
const INDEX_FILE = 'model.safetensors.index.json';
const OPTIONAL_FILES = ['generation_config.json', 'vocab.json', 'merges.txt'] as const;
const MAX_INDEX_BYTES = 100_000_000;

/**
 * The local folder holding a model: `pathOrHubId` itself when it is a folder, else the hub cache
 * snapshot of that repo. A repo whose config, tokenizer and weights are all cached is used without
 * touching the network; otherwise only the files GPT-2 needs are downloaded into the cache (config,
 * generation config, tokenizer files, `model.safetensors` or its index and shards).
 */
export async function resolveModelFolder(
  pathOrHubId: string,
  options: ResolveModelFolderOptions = {},
): Promise<ResolvedModelFolder> {
  if (typeof pathOrHubId !== 'string' || pathOrHubId === '') {
    throw new ModelNotFoundError(String(pathOrHubId), 'expected a model folder or a Hugging Face repo id');
  }
  const stats = await stat(pathOrHubId).catch(() => undefined);
  if (stats?.isDirectory()) return { folder: path.resolve(pathOrHubId), source: 'local' };
  if (stats !== undefined) {
    throw new ModelNotFoundError(
      pathOrHubId,
      'is a file; pass the folder that holds config.json and the weights',
    );
  }
  if (looksLikePath(pathOrHubId)) {
    throw new ModelNotFoundError(pathOrHubId, 'no such folder (and it is not a Hugging Face repo id)');
  }

  const hubOptions = {
    revision: options.revision,
    cacheDir: options.cacheDir,
    endpoint: options.endpoint,
    offline: options.offline,
    onNotice: options.onNotice,
  };
  const cached = await fromCache(pathOrHubId, hubOptions);
  if (cached !== undefined) return { folder: cached, source: 'hf-cache' };

  const files = new Set(await listRepoFiles(pathOrHubId, hubOptions));
  if (!files.has(CONFIG_FILE)) {
    throw new ModelNotFoundError(
      pathOrHubId,
      `the repo has no ${CONFIG_FILE}, so it is not a transformers model`,
    );
  }
  const absentTokenizerFiles = TOKENIZER_FILES.filter((file) => !files.has(file));
  if (absentTokenizerFiles.length > 0) {
    throw new MissingTokenizerError(
      pathOrHubId,
      TOKENIZER_FILES,
      `the repo has no ${absentTokenizerFiles.join(' or ')}`,
    );
  }
  const weightsFile = files.has(SINGLE_FILE) ? SINGLE_FILE : files.has(INDEX_FILE) ? INDEX_FILE : undefined;
  if (weightsFile === undefined) {
    throw new ModelNotFoundError(
      pathOrHubId,
      `the repo has neither ${SINGLE_FILE} nor ${INDEX_FILE} (only safetensors weights are read)`,
    );
  }
  const wanted = [
    CONFIG_FILE,
    ...TOKENIZER_FILES,
    ...OPTIONAL_FILES.filter((file) => files.has(file)),
    weightsFile,
  ];
  const resolved = await resolveHubFiles(pathOrHubId, wanted, hubOptions);
  const folder = path.dirname(resolved.paths[0]!);
  let source = resolved.source;
  if (weightsFile === INDEX_FILE) {
    const shards = await shardsOf(path.join(folder, INDEX_FILE));
    // Pin the shards to the snapshot the index came from, so every file is from one commit.
    const shardFiles = await resolveHubFiles(pathOrHubId, shards, {
      ...hubOptions,
      revision: path.basename(folder),
    });
    if (shardFiles.source === 'download') source = 'download';
  }
  return { folder, source };
}

/** The cached snapshot folder when config, tokenizer and every weight file are in it. */
async function fromCache(
  repo: string,
  options: { revision?: string | undefined; cacheDir?: string | undefined },
): Promise<string | undefined> {
  const files = await listCachedRepoFiles(repo, options);
  if (files === undefined) return undefined;
  const present = new Set(files);
  if (!present.has(CONFIG_FILE) || !TOKENIZER_FILES.every((file) => present.has(file))) return undefined;
  const [config] = await findInCache(repo, [CONFIG_FILE], options);
  if (config === undefined) return undefined;
  const folder = path.dirname(config);
  if (present.has(SINGLE_FILE)) return folder;
  if (!present.has(INDEX_FILE)) return undefined;
  const shards = await shardsOf(path.join(folder, INDEX_FILE)).catch(() => undefined);
  return shards?.every((shard) => present.has(shard)) ? folder : undefined;
}

/** The distinct shard files an index maps tensors to (the safetensors reader validates it fully later). */
async function shardsOf(indexPath: string): Promise<string[]> {
  const bytes = await readRegularFile(indexPath, { maxBytes: MAX_INDEX_BYTES, what: 'an index' });
  const text = decodeText(bytes, indexPath);
  let weightMap: unknown;
  try {
    weightMap = (JSON.parse(text) as { weight_map?: unknown }).weight_map;
  } catch (error) {
    throw new ModelNotFoundError(indexPath, `is not valid JSON (${(error as Error).message})`, {
      cause: error,
    });
  }
  if (typeof weightMap !== 'object' || weightMap === null) {
    throw new ModelNotFoundError(indexPath, 'has no "weight_map" object');
  }
  const shards = new Set<string>();
  for (const shard of Object.values(weightMap)) {
    if (typeof shard !== 'string')
      throw new ModelNotFoundError(indexPath, `weight_map holds a non-string ${JSON.stringify(shard)}`);
    shards.add(shard);
  }
  return [...shards];
}

/** A hub id is `name` or `owner/name`; anything else with path syntax is meant as a folder. */
export function looksLikePath(value: string): boolean {
  return (
    value.startsWith('.') ||
    value.startsWith('/') ||
    value.startsWith('~') ||
    value.includes('\\') ||
    value.split('/').length > 2 ||
    path.isAbsolute(value)
  );
}
