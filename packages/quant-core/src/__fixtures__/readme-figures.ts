import { readFile } from 'node:fs/promises';

const README_FILES = {
  package: new URL('../../README.md', import.meta.url),
  root: new URL('../../../../README.md', import.meta.url),
} as const;

/** Table rows whose first cell names each mode, in this package's README and the repository's. */
const ROW_LABELS: Record<string, { package: string; root: string }> = {
  'int8-weight-only': { package: 'int8 weight-only', root: '`int8-weight-only`' },
  float8: { package: 'float8 (weights + activations, lm_head included)', root: '`float8`' },
  'int4-weight-only': { package: 'int4 AWQ-lite, block 128', root: '`int4-weight-only`' },
};

/**
 * The held-out perplexity each README states for a mode (the first number in the row's ptq
 * column), so the tests that compute it can hold the READMEs to it.
 */
export async function readmePerplexities(mode: string): Promise<{ package: string; root: string }> {
  const labels = ROW_LABELS[mode];
  if (labels === undefined) throw new Error(`no README row for ${mode}`);
  const find = async (file: URL, label: string, column: number) => {
    const text = await readFile(file, 'utf8');
    const row = text.split('\n').find((line) => line.startsWith(`| ${label} |`));
    if (row === undefined) throw new Error(`${file.pathname}: no table row "${label}"`);
    const cell = row.split('|')[column + 1]!.trim();
    const number = /\d+\.\d{3}/.exec(cell);
    if (number === null)
      throw new Error(`${file.pathname}: row "${label}" has no figure in column ${column}`);
    return number[0];
  };
  return {
    package: await find(README_FILES.package, labels.package, 1),
    root: await find(README_FILES.root, labels.root, 2),
  };
}
