import { stat } from 'node:fs/promises';
import { InvalidArgumentError } from '@ptq/errors';
import { TEXT_ENCODINGS, type TextEncoding } from '@ptq/files';
import {
  findInCache,
  HubUnavailableError,
  isHubOffline,
  listCachedRepoFiles,
  listRepoFiles,
  type ResolveOptions,
  resolveHubFiles,
} from '@ptq/hub';
import {
  DatasetNotFoundError,
  EmptyDatasetError,
  NotEnoughSamplesError,
  UnknownDatasetError,
} from './calibration-errors';
import { bundledPathOf, KNOWN_DATASET_NAMES, type KnownDataset, knownDataset } from './known-datasets';
import { DATASET_FILE_EXTENSIONS, readDatasetPath } from './read-dataset-path';
import { readParquet } from './read-parquet';
import type { TextSplit } from './read-text-file';

/** Where calibration texts came from. */
export type CalibrationTextSource = 'local' | 'hf-cache' | 'download' | 'bundled';

export interface LoadCalibrationTextsOptions
  extends Pick<ResolveOptions, 'cacheDir' | 'endpoint' | 'offline' | 'revision' | 'accessToken' | 'fetch'> {
  /** Take the first `numSamples` texts, in dataset order. @default all texts */
  numSamples?: number;
  /** Text field of `.jsonl` / `.parquet` files given by path. @default 'text', else 'article' */
  field?: string;
  /** How `.txt` files given by path become texts. @default the whole file is one text */
  split?: TextSplit;
  /**
   * How the bytes of dataset files given by path are decoded (`.txt`, `.jsonl`, parquet string values).
   * `utf-8` is strict: an invalid byte is an error naming the file and its offset, never a silent U+FFFD.
   * @default 'utf-8'
   */
  encoding?: TextEncoding;
  /** Receives one line saying which source was used. */
  onNotice?: (message: string) => void;
}

export interface CalibrationTexts {
  texts: string[];
  source: CalibrationTextSource;
  description: string;
}

/**
 * Calibration texts by dataset name (`cnn_dailymail`, `wikitext`) or by path (`.txt`, `.jsonl`,
 * `.parquet`, or a folder of them). A name resolves: an existing local path of that name → the Hugging
 * Face cache → a download when online → the bundled sample, with one notice line saying which was used.
 * Empty and whitespace-only texts are skipped; the first `numSamples` are kept, in dataset order.
 */
export async function loadCalibrationTexts(
  nameOrPath: string,
  options: LoadCalibrationTextsOptions = {},
): Promise<CalibrationTexts> {
  const { numSamples } = options;
  if (numSamples !== undefined && !(Number.isSafeInteger(numSamples) && numSamples > 0)) {
    throw new InvalidArgumentError('numSamples', `must be a positive integer, got ${String(numSamples)}`);
  }
  if (typeof nameOrPath !== 'string' || nameOrPath === '') {
    throw new UnknownDatasetError(String(nameOrPath), KNOWN_DATASET_NAMES);
  }
  const { encoding } = options;
  if (encoding !== undefined && !TEXT_ENCODINGS.includes(encoding)) {
    throw new InvalidArgumentError(
      'encoding',
      `must be one of ${TEXT_ENCODINGS.map((name) => `"${name}"`).join(', ')}, got ${JSON.stringify(encoding)}`,
    );
  }
  const notice = options.onNotice ?? (() => {});

  if (await exists(nameOrPath)) {
    const { texts, description } = await readDatasetPath(nameOrPath, {
      field: options.field,
      split: options.split,
      limit: numSamples,
      encoding,
    });
    checkEnough(texts, numSamples, description);
    notice(`ptq: using ${texts.length} calibration text${texts.length === 1 ? '' : 's'} from ${description}`);
    return { texts, source: 'local', description };
  }

  const dataset = knownDataset(nameOrPath);
  if (dataset === undefined) {
    if (looksLikePath(nameOrPath)) throw new DatasetNotFoundError(nameOrPath);
    throw new UnknownDatasetError(nameOrPath, KNOWN_DATASET_NAMES);
  }
  if (options.field !== undefined && options.field !== dataset.field) {
    throw new InvalidArgumentError(
      'field',
      `${dataset.name} is read from its "${dataset.field}" field; "field" applies to dataset files given by path`,
    );
  }
  if (options.split !== undefined) {
    throw new InvalidArgumentError(
      'split',
      `applies to .txt files given by path, not to the ${dataset.name} dataset`,
    );
  }
  if (encoding !== undefined && encoding !== 'utf-8') {
    throw new InvalidArgumentError(
      'encoding',
      `${dataset.name} is UTF-8; "encoding" applies to dataset files given by path`,
    );
  }
  return loadKnownDataset(dataset, options, notice);
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

function looksLikePath(value: string): boolean {
  return (
    /[/\\]/.test(value) ||
    value.startsWith('.') ||
    DATASET_FILE_EXTENSIONS.some((extension) => value.toLowerCase().endsWith(extension))
  );
}

function checkEnough(
  texts: readonly string[],
  numSamples: number | undefined,
  description: string,
  hint?: string,
) {
  if (numSamples !== undefined && texts.length < numSamples) {
    throw new NotEnoughSamplesError(description, numSamples, texts.length, hint);
  }
}

/** A named dataset whose shards hold no text at all (a broken or foreign upload). */
function checkNotEmpty(texts: readonly string[], dataset: KnownDataset, where: string): void {
  if (texts.length === 0) {
    throw new EmptyDatasetError(
      `${dataset.repo} ${dataset.shardGlob}`,
      dataset.field,
      `every shard ${where} is empty`,
    );
  }
}

interface Shard {
  path: string;
  index: number;
  count: number;
}

/** The dataset's shards among `files`, in shard order. */
function shardsOf(dataset: KnownDataset, files: readonly string[]): Shard[] {
  const shards: Shard[] = [];
  for (const path of files) {
    const match = dataset.shardPattern.exec(path);
    if (match !== null) shards.push({ path, index: Number(match[1]), count: Number(match[2]) });
  }
  return shards.sort((left, right) => left.index - right.index);
}

/** Shards 0, 1, 2, … without a gap: the part of the dataset that can be read in order. */
function leadingShards(shards: readonly Shard[]): Shard[] {
  const leading: Shard[] = [];
  for (const shard of shards) {
    if (shard.index !== leading.length) break;
    leading.push(shard);
  }
  return leading;
}

async function loadKnownDataset(
  dataset: KnownDataset,
  options: LoadCalibrationTextsOptions,
  notice: (message: string) => void,
): Promise<CalibrationTexts> {
  const limit = options.numSamples ?? Number.POSITIVE_INFINITY;
  const hubOptions: ResolveOptions = {
    repoType: 'dataset',
    revision: options.revision,
    cacheDir: options.cacheDir,
    endpoint: options.endpoint,
    offline: options.offline,
    accessToken: options.accessToken,
    fetch: options.fetch,
  };
  const offline = options.offline ?? isHubOffline();
  const hubDescription = `${dataset.repo} ${dataset.config}, ${dataset.split} split, field "${dataset.field}"`;
  const taken = (count: number) => `first ${count} ${dataset.unit}`;

  // 1. The Hugging Face cache: the leading shards, read in order until there are enough texts.
  const cachedShards = leadingShards(
    shardsOf(dataset, (await listCachedRepoFiles(dataset.repo, hubOptions)) ?? []),
  );
  if (cachedShards.length > 0) {
    const cachedPaths = await findInCache(
      dataset.repo,
      cachedShards.map((shard) => shard.path),
      hubOptions,
    );
    const texts = await readShards(cachedPaths, limit, dataset.field);
    const complete = cachedShards.length === cachedShards[0]?.count;
    if (complete) checkNotEmpty(texts, dataset, 'in the Hugging Face cache');
    if (texts.length >= limit || (complete && options.numSamples === undefined)) {
      notice(`ptq: ${dataset.name} from the Hugging Face cache (${hubDescription}, ${taken(texts.length)})`);
      return { texts, source: 'hf-cache', description: hubDescription };
    }
    if (complete) checkEnough(texts, options.numSamples, `${dataset.name} (${hubDescription})`);
  }

  // 2. The hub: list the shards, resolve each (cache first, else download) until there are enough texts.
  let reason = 'offline mode is on (HF_HUB_OFFLINE)';
  if (!offline) {
    try {
      const shards = shardsOf(dataset, await listRepoFiles(dataset.repo, { ...hubOptions, offline: false }));
      if (shards.length > 0) {
        const texts: string[] = [];
        let downloaded = false;
        for (const shard of shards) {
          if (texts.length >= limit) break;
          const resolved = await resolveHubFiles(dataset.repo, [shard.path], {
            ...hubOptions,
            offline: false,
          });
          downloaded ||= resolved.source === 'download';
          for (const text of await readShards(resolved.paths, limit - texts.length, dataset.field))
            texts.push(text);
        }
        checkNotEmpty(texts, dataset, 'on the Hugging Face hub');
        checkEnough(texts, options.numSamples, `${dataset.name} (${hubDescription})`);
        const source = downloaded ? 'download' : 'hf-cache';
        notice(
          downloaded
            ? `ptq: ${dataset.name} downloaded from the Hugging Face hub into its cache (${hubDescription}, ${taken(texts.length)})`
            : `ptq: ${dataset.name} from the Hugging Face cache (${hubDescription}, ${taken(texts.length)})`,
        );
        return { texts, source, description: hubDescription };
      }
      reason = `${dataset.repo} has no ${dataset.shardGlob} files on the hub`;
    } catch (error) {
      // A network failure is not an error here: the bundled sample follows.
      if (!(error instanceof HubUnavailableError)) throw error;
      reason = 'the hub is unreachable';
    }
  }

  // 3. The sample shipped with this package.
  const texts = await dataset.bundled.read(bundledPathOf(dataset), limit);
  const description = `${dataset.bundled.description}, field "${dataset.field}"`;
  checkEnough(
    texts,
    options.numSamples,
    `the ${dataset.bundled.description} of ${dataset.name}`,
    `${reason}, and ${dataset.repo} is not in the Hugging Face cache`,
  );
  notice(
    `ptq: ${dataset.name} not in the Hugging Face cache and ${reason}; using the ${dataset.bundled.description}`,
  );
  return { texts, source: 'bundled', description };
}

async function readShards(
  paths: readonly (string | undefined)[],
  limit: number,
  field: string,
): Promise<string[]> {
  const texts: string[] = [];
  for (const path of paths) {
    if (path === undefined || texts.length >= limit) break;
    const shard = await readParquet(path, { field, limit: limit - texts.length });
    for (const text of shard.texts) texts.push(text);
  }
  return texts;
}
