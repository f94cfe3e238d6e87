/** One ```ts block of a README: its first line's number (the fence) and its code, ending in a newline. */
export interface ReadmeBlock {
  line: number;
  code: string;
}

/** The ```ts blocks of the `## Usage` section (up to the next `## ` heading), with their README line. */
export function readmeUsageBlocks(readmeText: string): ReadmeBlock[];

/**
 * Problems (one line each; none when all is well) between the Usage ```ts blocks of
 * `<packageFolder>/README.md` and the `.ts` files of `<packageFolder>/examples/`: a block that is no
 * file (byte for byte, modulo a trailing newline), a file that is no block.
 */
export function readmeExampleProblems(packageFolder: string): string[];

/** The names of the `.ts` files in `<packageFolder>/examples/`, sorted. */
export function readmeExampleNames(packageFolder: string): string[];

/**
 * Runs `run` (which imports an example: the import must be written in the test file, where Vitest
 * compiles TypeScript) and returns what it wrote with `console.log`, one line per call. With
 * `workingFolder`, it runs there (for examples that write to a relative path), and the former working
 * folder is restored afterwards.
 */
export function captureConsoleLog(
  run: () => Promise<unknown>,
  options?: { workingFolder?: string },
): Promise<string>;

/**
 * What printed `text` says, for comparing it with a README's result comment: whitespace runs (line
 * breaks included, which `console.log` places by width) become one space, and every decimal number is
 * rounded to `significantDigits` (default 6), as onnxruntime may sum in another order on another CPU.
 */
export function printedValues(text: string, significantDigits?: number): string;

/**
 * What an example printed, as `printedValues` (numbers to `significantDigits`; 17 keeps every digit
 * of a float32), run in `workingFolder` when given.
 */
export function printedBy(
  example: () => Promise<unknown>,
  options?: { significantDigits?: number; workingFolder?: string },
): Promise<string>;

/** The check every package's README test makes, as one test: its Usage blocks are its `examples/`. */
export function itMatchesReadme(packageFolder: string): void;

/**
 * A fresh temporary working folder for the examples of the enclosing `describe`, made before its tests
 * (and before hooks registered after this call) and removed after them, with a `run` that runs an
 * example there and returns what it printed as `printedValues`.
 */
export function temporaryExampleFolder(prefix: string): {
  path(): string;
  run(example: () => Promise<unknown>): Promise<string>;
};
