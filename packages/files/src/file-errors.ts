import { basename } from 'node:path';
import { FileFormatError } from '@ptq/errors';

/** A path that is not a regular file (a folder, FIFO, socket or device): reading it could hang or never end. */
export class NotARegularFileError extends FileFormatError {
  constructor(file: string, kind: string) {
    super('PTQ_NOT_A_REGULAR_FILE', file, `is a ${kind}, not a regular file`);
  }
}

/** A file larger than the cap its reader allows. */
export class FileTooLargeError extends FileFormatError {
  readonly size: number;
  readonly maxBytes: number;

  constructor(file: string, size: number, maxBytes: number, what: string) {
    super('PTQ_FILE_TOO_LARGE', file, `is ${size} bytes; ${what} may be at most ${maxBytes} bytes`);
    this.size = size;
    this.maxBytes = maxBytes;
  }
}

/** Text that is not valid in the encoding it is read with (strict UTF-8 unless told otherwise). */
export class TextEncodingError extends FileFormatError {
  readonly byteOffset: number;

  constructor(file: string, encoding: string, byteOffset: number) {
    super(
      'PTQ_TEXT_ENCODING',
      file,
      `is not valid ${encoding}: bad byte sequence at byte offset ${byteOffset}` +
        (encoding === 'utf-8' ? ' (pass the file’s encoding, e.g. latin1, to read it)' : ''),
    );
    this.byteOffset = byteOffset;
  }
}

/** The system error code of `cause` (`ENOENT`, `EISDIR`…), in parentheses, or nothing. */
export function systemErrorSuffix(cause: unknown): string {
  return typeof cause === 'object' && cause !== null && 'code' in cause ? ` (${String(cause.code)})` : '';
}

/** An atomic write failed; the target was left as it was and the temporary file removed. */
export class FileWriteError extends FileFormatError {
  constructor(file: string, stage: 'create' | 'write', temporaryPath: string, cause: unknown) {
    super(
      'PTQ_FILE_WRITE',
      file,
      `${stage === 'create' ? `cannot create the temporary file ${basename(temporaryPath)}` : 'cannot write'}${systemErrorSuffix(cause)}`,
      { cause },
    );
  }
}
