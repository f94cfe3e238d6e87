// A package README's Usage examples are files in its `examples/` folder, type-checked with the package
// and run by its tests, so that an example cannot go stale. These helpers check that each ```ts block
// of the README's `## Usage` section is, byte for byte, one file of `examples/` (and each file one
// block), and capture what an example prints.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { format } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';

const USAGE_HEADING = '## Usage';

/** The ```ts blocks of the `## Usage` section (up to the next `## ` heading), with their README line. */
export function readmeUsageBlocks(readmeText) {
  const lines = readmeText.split('\n');
  const start = lines.findIndex((line) => line.trimEnd() === USAGE_HEADING);
  if (start === -1) return [];
  const blocks = [];
  let fence;
  for (let index = start + 1; index < lines.length; index += 1) {
    const line = lines[index];
    if (fence === undefined) {
      if (line.startsWith('## ')) break;
      if (line.startsWith('```')) fence = { language: line.slice(3).trim(), line: index + 1, body: [] };
    } else if (line.startsWith('```')) {
      if (fence.language === 'ts') blocks.push({ line: fence.line, code: `${fence.body.join('\n')}\n` });
      fence = undefined;
    } else {
      fence.body.push(line);
    }
  }
  return blocks;
}

function withTrailingNewline(text) {
  return text.endsWith('\n') ? text : `${text}\n`;
}

function firstDifferentLine(left, right) {
  const leftLines = left.split('\n');
  const rightLines = right.split('\n');
  const count = Math.max(leftLines.length, rightLines.length);
  for (let index = 0; index < count; index += 1) if (leftLines[index] !== rightLines[index]) return index + 1;
  return count;
}

/**
 * Problems (one line each; none when all is well) between the Usage ```ts blocks of
 * `<packageFolder>/README.md` and the `.ts` files of `<packageFolder>/examples/`.
 */
export function readmeExampleProblems(packageFolder) {
  const blocks = readmeUsageBlocks(readFileSync(path.join(packageFolder, 'README.md'), 'utf8'));
  const examplesFolder = path.join(packageFolder, 'examples');
  const files = readdirSync(examplesFolder)
    .filter((name) => name.endsWith('.ts'))
    .sort()
    .map((name) => ({
      name,
      code: withTrailingNewline(readFileSync(path.join(examplesFolder, name), 'utf8')),
    }));
  const problems = [];
  if (blocks.length === 0) problems.push('README.md has no ```ts block under "## Usage"');
  const matched = new Set();
  for (const block of blocks) {
    const file = files.find((candidate) => candidate.code === block.code);
    if (file !== undefined) {
      if (matched.has(file.name))
        problems.push(`README.md line ${block.line}: repeats examples/${file.name}`);
      matched.add(file.name);
      continue;
    }
    const nearest = files
      .map((candidate) => ({ name: candidate.name, line: firstDifferentLine(candidate.code, block.code) }))
      .sort((left, right) => right.line - left.line)[0];
    const hint =
      nearest === undefined
        ? ''
        : ` (nearest: examples/${nearest.name}, which differs from line ${nearest.line})`;
    problems.push(`README.md line ${block.line}: this \`\`\`ts block is no file of examples/${hint}`);
  }
  for (const file of files) {
    if (!matched.has(file.name))
      problems.push(`examples/${file.name} is no \`\`\`ts block of README.md's Usage`);
  }
  return problems;
}

/** The names of the `.ts` files in `<packageFolder>/examples/`, sorted. */
export function readmeExampleNames(packageFolder) {
  return readdirSync(path.join(packageFolder, 'examples'))
    .filter((name) => name.endsWith('.ts'))
    .sort();
}

/**
 * Runs `run` (which imports an example: the import must be written in the test file, where Vitest
 * compiles TypeScript) and returns what it wrote with `console.log`, one line per call. With
 * `workingFolder`, it runs there (for examples that write to a relative path), and the former working
 * folder is restored afterwards.
 */
export async function captureConsoleLog(run, { workingFolder } = {}) {
  const printed = [];
  const originalLog = console.log;
  const originalFolder = process.cwd();
  console.log = (...values) => {
    printed.push(format(...values));
  };
  try {
    if (workingFolder !== undefined) process.chdir(workingFolder);
    await run();
  } finally {
    console.log = originalLog;
    process.chdir(originalFolder);
  }
  return printed.length === 0 ? '' : `${printed.join('\n')}\n`;
}

/**
 * What printed `text` says, for comparing it with a README's result comment: whitespace runs (line
 * breaks included, which `console.log` places by width) become one space, and every decimal number is
 * rounded to `significantDigits`, as onnxruntime may sum in another order on another CPU.
 */
export function printedValues(text, significantDigits = 6) {
  return text
    .replace(/-?\d+\.\d+(?:e[-+]?\d+)?/g, (number) =>
      String(Number(Number(number).toPrecision(significantDigits))),
    )
    .replace(/\s+/g, ' ')
    .trim();
}

/**
 * What an example printed, as `printedValues` (numbers to `significantDigits`; 17 keeps every digit
 * of a float32), run in `workingFolder` when given.
 */
export function printedBy(example, { significantDigits = 6, workingFolder } = {}) {
  return captureConsoleLog(example, { workingFolder }).then((printed) =>
    printedValues(printed, significantDigits),
  );
}

/** The check every package's README test makes, as one test: its Usage blocks are its `examples/`. */
export function itMatchesReadme(packageFolder) {
  it('are, byte for byte, the files of examples/', () => {
    expect(readmeExampleProblems(packageFolder)).toEqual([]);
  });
}

/**
 * A fresh temporary working folder for the examples of the enclosing `describe`, made before its tests
 * (and before hooks registered after this call) and removed after them, with a `run` that runs an
 * example there and returns what it printed as `printedValues`.
 */
export function temporaryExampleFolder(prefix) {
  let folder;
  beforeAll(() => {
    folder = mkdtempSync(path.join(tmpdir(), prefix));
  });
  afterAll(() => {
    if (folder !== undefined) rmSync(folder, { recursive: true, force: true });
  });
  return {
    path: () => folder,
    run: (example) => printedBy(example, { workingFolder: folder }),
  };
}
