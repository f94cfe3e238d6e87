import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidArgumentError } from '@ptq/errors';
import { NotARegularFileError, TextEncodingError } from '@ptq/files';
import { findInCache, HubFileNotFoundError } from '@ptq/hub';
import { type FakeHub, type FakeHubRepo, populateHubCache, startFakeHub } from '@ptq/hub/test';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  DatasetNotFoundError,
  EmptyDatasetError,
  NotEnoughSamplesError,
  UnknownDatasetError,
} from './calibration-errors';
import { type LoadCalibrationTextsOptions, loadCalibrationTexts } from './load-calibration-texts';
import {
  bundledArticles,
  bundledWikitextLines,
  CNN_PARQUET,
  HAS_CNN_PARQUET,
  HAS_WIKITEXT_PARQUET,
  WIKITEXT_PARQUET,
} from './test-support/fixtures';
import { writeParquet } from './test-support/write-parquet';

const SHARD_0 = '3.0.0/train-00000-of-00002.parquet';
const SHARD_1 = '3.0.0/train-00001-of-00002.parquet';
const SECOND_SHARD = Array.from({ length: 5 }, (_, index) => `second shard article ${index}`);
const CNN_HUB = 'abisee/cnn_dailymail 3.0.0, train split, field "article"';
const BUNDLED_CNN_NOTICE = 'using the bundled sample of 250 real test-split articles';

let folder: string;
let cacheDir: string;
let notices: string[];
let hub: FakeHub | undefined;

beforeEach(async () => {
  folder = await mkdtemp(join(tmpdir(), 'ptq-load-'));
  cacheDir = join(folder, 'hf-cache');
  notices = [];
});

afterEach(async () => {
  vi.unstubAllEnvs();
  await hub?.close();
  hub = undefined;
  await rm(folder, { recursive: true, force: true });
});

/** The layout of abisee/cnn_dailymail: two train shards (the first is the pyarrow fixture), a test shard, a card. */
async function cnnRepo(): Promise<FakeHubRepo> {
  return {
    type: 'dataset',
    files: {
      'README.md': '# CNN / DailyMail\n',
      [SHARD_0]: new Uint8Array(await readFile(CNN_PARQUET)),
      [SHARD_1]: writeParquet({
        columns: [{ name: 'article', type: 'string' }],
        rows: SECOND_SHARD.map((article) => ({ article })),
      }),
      '3.0.0/test-00000-of-00001.parquet': writeParquet({
        columns: [{ name: 'article', type: 'string' }],
        rows: [{ article: 'a test-split article, never read' }],
      }),
    },
  };
}

function online(extra: LoadCalibrationTextsOptions = {}): LoadCalibrationTextsOptions {
  return {
    cacheDir,
    endpoint: hub?.endpoint,
    offline: false,
    onNotice: (line) => notices.push(line),
    ...extra,
  };
}

describe('loadCalibrationTexts by name, through the hub', () => {
  it.skipIf(!HAS_CNN_PARQUET)(
    'downloads the train shards in order into the cache, then reads them offline',
    async () => {
      hub = await startFakeHub({ repos: { 'abisee/cnn_dailymail': await cnnRepo() } });
      const expected = [...bundledArticles().slice(0, 12), ...SECOND_SHARD.slice(0, 3)];

      const first = await loadCalibrationTexts('cnn_dailymail', online({ numSamples: 15 }));
      expect(first).toEqual({ texts: expected, source: 'download', description: CNN_HUB });
      expect(notices).toEqual([
        `ptq: cnn_dailymail downloaded from the Hugging Face hub into its cache (${CNN_HUB}, first 15 articles)`,
      ]);
      const cached = await findInCache('abisee/cnn_dailymail', [SHARD_0, SHARD_1], {
        cacheDir,
        repoType: 'dataset',
      });
      expect(
        cached.every((path) =>
          path?.startsWith(join(cacheDir, 'datasets--abisee--cnn_dailymail', 'snapshots')),
        ),
      ).toBe(true);
      expect(hub.requests.some((request) => request.includes('test-00000'))).toBe(false);

      await hub.close();
      notices = [];
      const second = await loadCalibrationTexts('cnn_dailymail', online({ numSamples: 15 }));
      expect(second).toEqual({ texts: expected, source: 'hf-cache', description: CNN_HUB });
      expect(notices).toEqual([
        `ptq: cnn_dailymail from the Hugging Face cache (${CNN_HUB}, first 15 articles)`,
      ]);
    },
  );

  it.skipIf(!HAS_CNN_PARQUET)('downloads only the shards it needs', async () => {
    hub = await startFakeHub({ repos: { 'abisee/cnn_dailymail': await cnnRepo() } });
    const { texts } = await loadCalibrationTexts('cnn_dailymail', online({ numSamples: 5 }));
    expect(texts).toEqual(bundledArticles().slice(0, 5));
    expect(hub.requests.some((request) => request.includes('train-00001'))).toBe(false);
  });

  it.skipIf(!HAS_CNN_PARQUET)(
    'falls back to the bundled sample when the cache holds too few and the hub is gone',
    async () => {
      hub = await startFakeHub({ repos: { 'abisee/cnn_dailymail': await cnnRepo() } });
      await loadCalibrationTexts('cnn_dailymail', online({ numSamples: 5 }));
      await hub.close();
      notices = [];
      const result = await loadCalibrationTexts('cnn_dailymail', online({ numSamples: 15 }));
      expect(result.source).toBe('bundled');
      expect(result.texts).toEqual(bundledArticles().slice(0, 15));
      expect(notices).toEqual([
        `ptq: cnn_dailymail not in the Hugging Face cache and the hub is unreachable; ${BUNDLED_CNN_NOTICE}`,
      ]);
    },
  );

  it.skipIf(!HAS_CNN_PARQUET)('says how many texts exist when the whole dataset is too small', async () => {
    hub = await startFakeHub({ repos: { 'abisee/cnn_dailymail': await cnnRepo() } });
    const error = await loadCalibrationTexts('cnn_dailymail', online({ numSamples: 20 })).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(NotEnoughSamplesError);
    expect(error).toMatchObject({ code: 'PTQ_NOT_ENOUGH_SAMPLES', requested: 20, available: 17 });
    expect((error as Error).message).toBe(
      `cnn_dailymail (${CNN_HUB}) has 17 non-empty texts, fewer than the 20 asked for (numSamples)`,
    );
    // The cache now holds every shard: offline, the same answer comes from it.
    await expect(
      loadCalibrationTexts('cnn_dailymail', { cacheDir, offline: true, numSamples: 20 }),
    ).rejects.toThrow('has 17 non-empty texts');
  });

  it.skipIf(!HAS_CNN_PARQUET)('reads a pre-populated Python-layout cache with no server at all', async () => {
    await populateHubCache(cacheDir, { 'abisee/cnn_dailymail': await cnnRepo() });
    const result = await loadCalibrationTexts('cnn_dailymail', { cacheDir, offline: true, numSamples: 3 });
    expect(result).toEqual({
      texts: bundledArticles().slice(0, 3),
      source: 'hf-cache',
      description: CNN_HUB,
    });
  });

  it('falls back to the bundled sample when the hub repo has no matching shards', async () => {
    hub = await startFakeHub({
      repos: { 'abisee/cnn_dailymail': { type: 'dataset', files: { 'README.md': 'moved' } } },
    });
    const result = await loadCalibrationTexts('cnn_dailymail', online({ numSamples: 2 }));
    expect(result.source).toBe('bundled');
    expect(notices).toEqual([
      'ptq: cnn_dailymail not in the Hugging Face cache and abisee/cnn_dailymail has no 3.0.0/train-*.parquet ' +
        `files on the hub; ${BUNDLED_CNN_NOTICE}`,
    ]);
  });

  it('passes on hub errors that are not about the network', async () => {
    hub = await startFakeHub({ repos: {} });
    await expect(loadCalibrationTexts('cnn_dailymail', online({ numSamples: 2 }))).rejects.toThrow(
      HubFileNotFoundError,
    );
  });

  it.skipIf(!HAS_WIKITEXT_PARQUET)(
    'reads wikitext from the hub: the same rows as the bundled raw file',
    async () => {
      hub = await startFakeHub({
        repos: {
          'Salesforce/wikitext': {
            type: 'dataset',
            files: {
              'wikitext-2-raw-v1/test-00000-of-00001.parquet': new Uint8Array(
                await readFile(WIKITEXT_PARQUET),
              ),
            },
          },
        },
      });
      const result = await loadCalibrationTexts('wikitext', online({ numSamples: 20 }));
      expect(result.source).toBe('download');
      expect(result.texts).toEqual(bundledWikitextLines().slice(0, 20));
    },
  );
});

describe('loadCalibrationTexts by name, what the cache holds', () => {
  it('names the repo, shards and field when every cached shard is empty', async () => {
    const empty = writeParquet({ columns: [{ name: 'article', type: 'string' }], rows: [{ article: ' ' }] });
    await populateHubCache(cacheDir, {
      'abisee/cnn_dailymail': { type: 'dataset', files: { [SHARD_0]: empty, [SHARD_1]: empty } },
    });
    const error = await loadCalibrationTexts('cnn_dailymail', { cacheDir, offline: true }).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(EmptyDatasetError);
    expect((error as Error).message).toBe(
      'abisee/cnn_dailymail 3.0.0/train-*.parquet: no text in field "article" (every shard in the Hugging Face cache is empty)',
    );
  });

  it('names the repo, shards and field when every downloaded shard is empty', async () => {
    const empty = writeParquet({ columns: [{ name: 'article', type: 'string' }], rows: [{ article: null }] });
    hub = await startFakeHub({
      repos: { 'abisee/cnn_dailymail': { type: 'dataset', files: { [SHARD_0]: empty, [SHARD_1]: empty } } },
    });
    await expect(loadCalibrationTexts('cnn_dailymail', online())).rejects.toThrow(
      'abisee/cnn_dailymail 3.0.0/train-*.parquet: no text in field "article" (every shard on the Hugging Face hub is empty)',
    );
  });

  it('names the shard, row and offset of a cached string that is not UTF-8', async () => {
    const bad = writeParquet({
      columns: [{ name: 'article', type: 'string' }],
      rows: [{ article: 'fine' }, { article: Uint8Array.from([0x41, 0xff]) }],
    });
    await populateHubCache(cacheDir, {
      'abisee/cnn_dailymail': { type: 'dataset', files: { '3.0.0/train-00000-of-00001.parquet': bad } },
    });
    const error = await loadCalibrationTexts('cnn_dailymail', {
      cacheDir,
      offline: true,
      numSamples: 2,
    }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TextEncodingError);
    expect((error as Error).message).toMatch(
      /train-00000-of-00001\.parquet \[row 1, column "article"\]: is not valid utf-8: bad byte sequence at byte offset 1 /,
    );
  });
});

describe('loadCalibrationTexts by name, bundled fallback', () => {
  it('uses the bundled articles with one notice when HF_HUB_OFFLINE=1 and the cache is empty', async () => {
    vi.stubEnv('HF_HUB_OFFLINE', '1');
    const result = await loadCalibrationTexts('cnn_dailymail', {
      cacheDir,
      numSamples: 8,
      onNotice: (line) => notices.push(line),
    });
    expect(result).toEqual({
      texts: bundledArticles().slice(0, 8),
      source: 'bundled',
      description: 'bundled sample of 250 real test-split articles, field "article"',
    });
    expect(notices).toEqual([
      `ptq: cnn_dailymail not in the Hugging Face cache and offline mode is on (HF_HUB_OFFLINE); ${BUNDLED_CNN_NOTICE}`,
    ]);
  });

  it('uses the bundled articles when the hub is unreachable', async () => {
    hub = await startFakeHub({ repos: {} });
    const endpoint = hub.endpoint;
    await hub.close();
    const result = await loadCalibrationTexts('cnn_dailymail', online({ endpoint, numSamples: 250 }));
    expect(result.texts).toEqual(bundledArticles());
    expect(notices).toEqual([
      `ptq: cnn_dailymail not in the Hugging Face cache and the hub is unreachable; ${BUNDLED_CNN_NOTICE}`,
    ]);
  });

  it('says the bundled sample has 250 articles when more are asked for', async () => {
    const error = await loadCalibrationTexts('cnn_dailymail', {
      cacheDir,
      offline: true,
      numSamples: 300,
    }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(NotEnoughSamplesError);
    expect((error as Error).message).toBe(
      'the bundled sample of 250 real test-split articles of cnn_dailymail has 250 non-empty texts, fewer than ' +
        'the 300 asked for (numSamples); offline mode is on (HF_HUB_OFFLINE), and abisee/cnn_dailymail is not in ' +
        'the Hugging Face cache',
    );
  });

  it('gives every non-empty line of the bundled wikitext test split', async () => {
    const result = await loadCalibrationTexts('wikitext', {
      cacheDir,
      offline: true,
      onNotice: (line) => notices.push(line),
    });
    expect(result.texts).toHaveLength(2891);
    expect(result.texts).toEqual(bundledWikitextLines());
    expect(result.texts[0]).toBe(' = Robert Boulter = \n');
    expect(notices).toEqual([
      'ptq: wikitext not in the Hugging Face cache and offline mode is on (HF_HUB_OFFLINE); using the bundled ' +
        'copy of the wikitext-2-raw-v1 test split (the same rows as the hub)',
    ]);
  });
});

describe('loadCalibrationTexts by path', () => {
  it('reads a local file with one notice, and says how many texts it has when too few', async () => {
    const path = join(folder, 'mine.jsonl');
    await writeFile(path, '{"text":"first"}\n{"text":"second"}\n');
    const result = await loadCalibrationTexts(path, {
      numSamples: 2,
      onNotice: (line) => notices.push(line),
    });
    expect(result).toEqual({
      texts: ['first', 'second'],
      source: 'local',
      description: `${path} (field "text")`,
    });
    expect(notices).toEqual([`ptq: using 2 calibration texts from ${path} (field "text")`]);
    await expect(loadCalibrationTexts(path, { numSamples: 3 })).rejects.toThrow(
      `${path} (field "text") has 2 non-empty texts, fewer than the 3 asked for (numSamples)`,
    );
  });

  it('takes an existing local path before a dataset name', async () => {
    const local = join(folder, 'cnn_dailymail');
    await mkdir(local);
    await writeFile(join(local, 'a.txt'), 'my own text');
    const cwd = process.cwd();
    process.chdir(folder);
    try {
      const result = await loadCalibrationTexts('cnn_dailymail', { offline: true });
      expect(result).toMatchObject({ texts: ['my own text'], source: 'local' });
    } finally {
      process.chdir(cwd);
    }
  });

  it('throws DatasetNotFoundError for a path that does not exist', async () => {
    const path = join(folder, 'missing.jsonl');
    const error = await loadCalibrationTexts(path).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(DatasetNotFoundError);
    expect(error).toMatchObject({ code: 'PTQ_DATASET_NOT_FOUND', file: path });
    await expect(loadCalibrationTexts('notes.txt')).rejects.toThrow('notes.txt: no such file or folder');
  });
});

describe('loadCalibrationTexts by path: only regular files, strictly decoded', () => {
  it('refuses a FIFO at once instead of waiting for a writer', async () => {
    const fifo = join(folder, 'stream.txt');
    execFileSync('mkfifo', [fifo]);
    const error = await loadCalibrationTexts(fifo, { numSamples: 1 }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(NotARegularFileError);
    expect(error).toMatchObject({ code: 'PTQ_NOT_A_REGULAR_FILE', file: fifo });
    expect((error as Error).message).toBe(`${fifo}: is a FIFO, not a regular file`);
  });

  it('refuses a link to /dev/zero with a one-line error, not a string-length crash', async () => {
    const zero = join(folder, 'zero.txt');
    await symlink('/dev/zero', zero);
    await expect(loadCalibrationTexts(zero)).rejects.toThrow(
      `${zero}: is a character device, not a regular file`,
    );
    await expect(loadCalibrationTexts(zero, { split: 'lines' })).rejects.toThrow(NotARegularFileError);
  });

  it('refuses Latin-1 text read as UTF-8, and reads it as meant with encoding: "latin1"', async () => {
    const path = join(folder, 'news.txt');
    await writeFile(path, Uint8Array.from([0x4d, 0xfc, 0x6e, 0x63, 0x68, 0x65, 0x6e])); // "München"
    await expect(loadCalibrationTexts(path)).rejects.toThrow(
      `${path}: is not valid utf-8: bad byte sequence at byte offset 1 (pass the file’s encoding, e.g. latin1, to read it)`,
    );
    expect((await loadCalibrationTexts(path, { encoding: 'latin1' })).texts).toEqual(['München']);
  });

  it('checks the encoding, and keeps named datasets UTF-8', async () => {
    await expect(loadCalibrationTexts('cnn_dailymail', { encoding: 'cp1252' as 'latin1' })).rejects.toThrow(
      'Invalid argument "encoding": must be one of "utf-8", "latin1", "utf-16le", got "cp1252"',
    );
    await expect(loadCalibrationTexts('cnn_dailymail', { encoding: 'latin1' })).rejects.toThrow(
      'Invalid argument "encoding": cnn_dailymail is UTF-8; "encoding" applies to dataset files given by path',
    );
    await expect(
      loadCalibrationTexts('cnn_dailymail', { encoding: 'utf-8', offline: true, cacheDir, numSamples: 1 }),
    ).resolves.toMatchObject({ source: 'bundled' });
  });
});

describe('loadCalibrationTexts arguments', () => {
  it('lists the known names and says a path works for an unknown name', async () => {
    const error = await loadCalibrationTexts('c4').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(UnknownDatasetError);
    expect(error).toMatchObject({ code: 'PTQ_UNKNOWN_DATASET', knownNames: ['cnn_dailymail', 'wikitext'] });
    expect((error as Error).message).toBe(
      'Unknown calibration dataset "c4": known names are cnn_dailymail, wikitext; a path to a .txt, .jsonl or ' +
        '.parquet file, or to a folder of them, also works',
    );
    await expect(loadCalibrationTexts('')).rejects.toThrow(UnknownDatasetError);
  });

  it.each([0, -1, 1.5, Number.NaN])('rejects numSamples %s', async (numSamples) => {
    await expect(loadCalibrationTexts('cnn_dailymail', { numSamples })).rejects.toThrow(
      `Invalid argument "numSamples": must be a positive integer, got ${numSamples}`,
    );
  });

  it('rejects options that only apply to files given by path', async () => {
    await expect(loadCalibrationTexts('cnn_dailymail', { field: 'highlights' })).rejects.toThrow(
      InvalidArgumentError,
    );
    await expect(
      loadCalibrationTexts('cnn_dailymail', { field: 'article', offline: true, cacheDir }),
    ).resolves.toMatchObject({
      source: 'bundled',
    });
    await expect(loadCalibrationTexts('wikitext', { split: 'lines' })).rejects.toThrow(
      'Invalid argument "split"',
    );
  });
});
