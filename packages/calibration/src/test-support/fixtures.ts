import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

function fixture(name: string): string {
  return fileURLToPath(new URL(`../__fixtures__/${name}`, import.meta.url));
}

/** First 12 rows (3 row groups: 5, 5, 2) of the FRANK CNN/DailyMail sample, written by pyarrow (snappy). */
export const CNN_PARQUET = fixture('cnn_dailymail-3.0.0-train-sample.parquet');
/** First 60 rows of the wikitext-2-raw-v1 test split, written by pyarrow (zstd). */
export const WIKITEXT_PARQUET = fixture('wikitext-2-raw-v1-test-sample.parquet');
export const HAS_CNN_PARQUET = existsSync(CNN_PARQUET);
export const HAS_WIKITEXT_PARQUET = existsSync(WIKITEXT_PARQUET);

export const BUNDLED_CNN = fileURLToPath(new URL('../../data/frank_test.jsonl', import.meta.url));
export const BUNDLED_WIKITEXT = fileURLToPath(new URL('../../data/wiki.test.raw', import.meta.url));

/** The bundled articles, parsed here with JSON.parse line by line (not through the reader under test). */
export function bundledArticles(): string[] {
  return readFileSync(BUNDLED_CNN, 'utf8')
    .trim()
    .split('\n')
    .map((line) => (JSON.parse(line) as { article: string }).article);
}

/** Non-blank lines of the bundled wiki.test.raw, each with its "\n" (the Hugging Face rows). */
export function bundledWikitextLines(): string[] {
  return (readFileSync(BUNDLED_WIKITEXT, 'utf8').match(/[^\n]*\n/g) ?? []).filter(
    (line) => line.trim() !== '',
  );
}
