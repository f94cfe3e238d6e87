/** Exit codes of a program ended by SIGINT (Ctrl-C) and SIGTERM: 128 + the signal number, as shells report. */
export const SIGNAL_EXIT_CODES = { SIGINT: 130, SIGTERM: 143 } as const;

type HandledSignal = keyof typeof SIGNAL_EXIT_CODES;

let cleanup: (() => void) | undefined;
let outcome = 'nothing written';

/**
 * What to run before exiting on a signal: set by the code that writes output (the export's
 * temporary folders), so that commands which load no writer load nothing here. `written` says what
 * is already in place (default: nothing), for the line printed on the way out.
 */
export function setSignalCleanup(action: () => void, written = 'nothing written'): void {
  cleanup = action;
  outcome = written;
}

/**
 * Makes SIGINT and SIGTERM remove what is half written, say so in one line, and exit with 130 /
 * 143. For the `ptq` program only: a library must not take over its host's signals.
 */
export function exitOnSignals(stderr: { write(text: string): unknown } = process.stderr): void {
  for (const signal of Object.keys(SIGNAL_EXIT_CODES) as HandledSignal[]) {
    process.once(signal, () => {
      const removed = cleanup !== undefined;
      try {
        cleanup?.();
      } finally {
        stderr.write(
          `\nptq: stopped by ${signal}${removed ? `; temporary files removed, ${outcome}` : ''}\n`,
        );
        process.exit(SIGNAL_EXIT_CODES[signal]);
      }
    });
  }
}
