import { FileFormatError, InvalidArgumentError, PtqError } from '@ptq/errors';

// Stands for any ptq call: this one refuses its argument, as `modelOptQuantize` refuses an unknown mode.
async function run(): Promise<void> {
  throw new InvalidArgumentError('mode', 'expected int8-weight-only, int4-weight-only or float8, got int2');
}

try {
  await run();
} catch (error) {
  if (FileFormatError.isInstance(error)) {
    console.error(`bad file: ${error.file}`); // narrowed: `file` is typed
  } else if (PtqError.isInstance(error)) {
    console.error(error.message); // one clear line
    // Invalid argument "mode": expected int8-weight-only, int4-weight-only or float8, got int2
    // `code` is a PtqErrorCode: a misspelt code does not compile.
    process.exitCode = error.code === 'PTQ_SAFETENSORS_IO' ? 2 : 1;
  } else {
    throw error;
  }
}
