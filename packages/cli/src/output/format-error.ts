import { PtqError } from '@ptq/errors';
import { inFlagWords } from './flag-words';

/** Exit codes: 0 success, 1 the work failed, 2 the command line was wrong. */
export const EXIT_SUCCESS = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

export interface FormattedError {
  readonly exitCode: number;
  /** What stderr gets: one line, or with `verbose` the line, then the stack and causes. */
  readonly text: string;
}

/**
 * One line per failure: `ptq: <message>` for ptq's own errors (the first line of a multi-line
 * message, with a pointer to `--verbose`), `ptq: unexpected error: <message>` for anything else.
 * With `verbose` the full message, the stack and every cause follow.
 */
export function formatError(error: unknown, verbose: boolean): FormattedError {
  const known = PtqError.isInstance(error);
  // By code rather than class, so a UsageError from another copy of this package counts too.
  const usage = known && error.code === 'PTQ_CLI_USAGE';
  const message = inFlagWords(error instanceof Error ? error.message : String(error));
  const [firstLine = '', ...rest] = message.split('\n');
  const more = rest.some((line) => line.trim() !== '') && !verbose ? ' (more with --verbose)' : '';
  const body = firstLine.startsWith('ptq: ') ? firstLine.slice('ptq: '.length) : firstLine;
  const line = known ? `ptq: ${body}${more}` : `ptq: unexpected error: ${body}${more}`;
  const exitCode = usage ? EXIT_USAGE : EXIT_FAILURE;
  if (!verbose) return { exitCode, text: `${line}\n` };
  return { exitCode, text: `${line}\n${details(error)}` };
}

function details(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current !== undefined && depth < 8; depth++) {
    if (current instanceof Error) {
      parts.push(
        `${depth === 0 ? '' : 'caused by: '}${current.stack ?? `${current.name}: ${current.message}`}`,
      );
      current = current.cause;
    } else {
      parts.push(`caused by: ${String(current)}`);
      current = undefined;
    }
  }
  return `${parts.join('\n')}\n`;
}
