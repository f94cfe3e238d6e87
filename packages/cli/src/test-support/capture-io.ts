import type { CliIo } from '../output/output-stream';

export interface CapturedIo extends CliIo {
  stdoutText(): string;
  stderrText(): string;
}

/** Streams that keep what is written, for running the CLI in-process. Not terminals: no bars. */
export function captureIo(): CapturedIo {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return {
    stdout: { write: (chunk: string) => stdout.push(chunk), isTTY: false },
    stderr: { write: (chunk: string) => stderr.push(chunk), isTTY: false },
    stdoutText: () => stdout.join(''),
    stderrText: () => stderr.join(''),
  };
}
