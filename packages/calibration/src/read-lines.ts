import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';

/**
 * Yields the lines of a UTF-8 file without their `\n` / `\r\n`, one at a time, so a large file is
 * never held whole. Stop early by breaking out of the loop; the file is closed either way.
 */
export async function* readLines(path: string): AsyncGenerator<string> {
  const stream = createReadStream(path, { encoding: 'utf8' });
  const lines = createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY });
  let first = true;
  try {
    for await (const line of lines) {
      // A byte-order mark is not text.
      yield first && line.startsWith('\uFEFF') ? line.slice(1) : line;
      first = false;
    }
  } finally {
    lines.close();
    stream.destroy();
  }
}

/** Calibration skips texts with nothing but whitespace: they carry no signal (wikitext's blank rows). */
export function isBlank(text: string): boolean {
  return text.trim() === '';
}
