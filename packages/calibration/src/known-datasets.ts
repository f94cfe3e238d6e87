import { bundledDataPath } from './bundled-data';
import { readJsonl } from './read-jsonl';
import { isBlank } from './read-lines';
import { readWholeTextFile, wikitextRows } from './read-text-file';

/** A calibration dataset known by name: where it lives on the hub, and the sample shipped with the package. */
export interface KnownDataset {
  readonly name: string;
  /** Hugging Face dataset repo. */
  readonly repo: string;
  /** Dataset config (a folder of the repo). */
  readonly config: string;
  readonly split: string;
  /** The text column. */
  readonly field: string;
  /** Parquet shards of the config and split in the repo; groups 1 and 2 are the shard index and count. */
  readonly shardPattern: RegExp;
  /** Glob-like form of `shardPattern`, for messages. */
  readonly shardGlob: string;
  /** What one text is, for messages ("articles", "lines"). */
  readonly unit: string;
  readonly bundled: {
    readonly file: string;
    /** Completes "using the …". */
    readonly description: string;
    read(path: string, limit: number): Promise<string[]>;
  };
}

export const KNOWN_DATASETS: Readonly<Record<string, KnownDataset>> = {
  cnn_dailymail: {
    name: 'cnn_dailymail',
    repo: 'abisee/cnn_dailymail',
    config: '3.0.0',
    split: 'train',
    field: 'article',
    shardPattern: /^3\.0\.0\/train-(\d+)-of-(\d+)\.parquet$/,
    shardGlob: '3.0.0/train-*.parquet',
    unit: 'articles',
    bundled: {
      file: 'frank_test.jsonl',
      description: 'bundled sample of 250 real test-split articles',
      read: async (path, limit) => (await readJsonl(path, { field: 'article', limit })).texts,
    },
  },
  wikitext: {
    name: 'wikitext',
    repo: 'Salesforce/wikitext',
    config: 'wikitext-2-raw-v1',
    split: 'test',
    field: 'text',
    shardPattern: /^wikitext-2-raw-v1\/test-(\d+)-of-(\d+)\.parquet$/,
    shardGlob: 'wikitext-2-raw-v1/test-*.parquet',
    unit: 'lines',
    bundled: {
      file: 'wiki.test.raw',
      description: 'bundled copy of the wikitext-2-raw-v1 test split (the same rows as the hub)',
      read: async (path, limit) =>
        wikitextRows(await readWholeTextFile(path))
          .filter((row) => !isBlank(row))
          .slice(0, limit),
    },
  },
};

export const KNOWN_DATASET_NAMES: readonly string[] = Object.keys(KNOWN_DATASETS);

export function knownDataset(name: string): KnownDataset | undefined {
  return Object.hasOwn(KNOWN_DATASETS, name) ? KNOWN_DATASETS[name] : undefined;
}

export function bundledPathOf(dataset: KnownDataset): string {
  return bundledDataPath(dataset.bundled.file);
}
