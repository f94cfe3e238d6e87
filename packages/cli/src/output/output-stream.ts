/** Where the CLI writes: `process.stdout` / `process.stderr`, or a collector in tests. */
export interface OutputStream {
  write(chunk: string): unknown;
  /** True for a terminal: progress bars are drawn only there. */
  readonly isTTY?: boolean | undefined;
}

/** The two streams a run writes to. */
export interface CliIo {
  readonly stdout: OutputStream;
  readonly stderr: OutputStream;
}
