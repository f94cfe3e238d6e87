import { FileFormatError, PtqError, type PtqErrorOptions } from '@ptq/errors';

/** A dataset name that is neither known nor an existing path. */
export class UnknownDatasetError extends PtqError {
  readonly dataset: string;
  readonly knownNames: readonly string[];

  constructor(dataset: string, knownNames: readonly string[]) {
    super(
      'PTQ_UNKNOWN_DATASET',
      `Unknown calibration dataset ${JSON.stringify(dataset)}: known names are ${knownNames.join(', ')}; ` +
        'a path to a .txt, .jsonl or .parquet file, or to a folder of them, also works',
    );
    this.dataset = dataset;
    this.knownNames = [...knownNames];
  }
}

/** A dataset path that does not exist. */
export class DatasetNotFoundError extends FileFormatError {
  constructor(path: string) {
    super('PTQ_DATASET_NOT_FOUND', path, 'no such file or folder');
  }
}

/** A file whose type ptq cannot read as calibration text. */
export class UnsupportedDatasetFileError extends FileFormatError {
  constructor(path: string, extension: string) {
    super(
      'PTQ_DATASET_FILE_TYPE',
      path,
      `cannot read ${extension === '' ? 'a file without extension' : `"${extension}" files`} as calibration text (use .txt, .jsonl or .parquet)`,
    );
  }
}

/** A file, field or folder that holds no text at all (empty and whitespace-only texts are skipped). */
export class EmptyDatasetError extends FileFormatError {
  readonly field: string | undefined;

  constructor(path: string, field: string | undefined, detail?: string) {
    const what = field === undefined ? 'no text' : `no text in field "${field}"`;
    super('PTQ_EMPTY_DATASET', path, detail === undefined ? what : `${what} (${detail})`);
    this.field = field;
  }
}

/** A record without the text field, or with a field that is not text. */
export class DatasetFieldError extends FileFormatError {
  readonly field: string;

  constructor(location: string, field: string, message: string, options: PtqErrorOptions = {}) {
    super('PTQ_DATASET_FIELD', location, message, options);
    this.field = field;
  }
}

/** A line, paragraph or record longer than one calibration text may be. `location` is `path:line`. */
export class DatasetTextTooLongError extends FileFormatError {
  readonly maxBytes: number;

  constructor(location: string, what: string, maxBytes: number) {
    super(
      'PTQ_DATASET_TEXT_SIZE',
      location,
      `${what} is longer than the ${maxBytes} bytes one calibration text may have`,
    );
    this.maxBytes = maxBytes;
  }
}

/** A JSONL line that is not a JSON object. `file` is `path:line`. */
export class MalformedJsonlError extends FileFormatError {
  readonly line: number;

  constructor(path: string, line: number, message: string, options: PtqErrorOptions = {}) {
    super('PTQ_JSONL_FORMAT', `${path}:${line}`, message, options);
    this.line = line;
  }
}

/** A parquet file that cannot be read. */
export class ParquetFormatError extends FileFormatError {
  constructor(path: string, message: string, options: PtqErrorOptions = {}) {
    super('PTQ_PARQUET_FORMAT', path, message, options);
  }
}

/** Fewer texts than `numSamples` were asked for. */
export class NotEnoughSamplesError extends PtqError {
  readonly requested: number;
  readonly available: number;

  constructor(description: string, requested: number, available: number, hint?: string) {
    super(
      'PTQ_NOT_ENOUGH_SAMPLES',
      `${description} has ${available} non-empty text${available === 1 ? '' : 's'}, fewer than the ${requested} asked for (numSamples)` +
        (hint === undefined ? '' : `; ${hint}`),
    );
    this.requested = requested;
    this.available = available;
  }
}

/** A calibration text that tokenizes to zero tokens. */
export class EmptySampleError extends PtqError {
  readonly index: number;

  constructor(index: number, description: string) {
    super('PTQ_EMPTY_SAMPLE', `Calibration text ${index} of ${description} tokenizes to zero tokens`);
    this.index = index;
  }
}
