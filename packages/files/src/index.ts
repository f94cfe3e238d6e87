export { decodeText, findInvalidUtf8, TEXT_ENCODINGS, type TextEncoding } from './decode-text';
export {
  FileTooLargeError,
  FileWriteError,
  NotARegularFileError,
  systemErrorSuffix,
  TextEncodingError,
} from './file-errors';
export { openRegularFile, type RegularFileOptions, readRegularFile } from './regular-file';
export {
  onTemporaryCleanup,
  removeTemporaryOutputs,
  sweepStaleTemporaries,
  temporaryNamePid,
  temporarySiblingName,
} from './temporary-outputs';
export { TEXT_SPLITS, type TextSplit } from './text-splits';
export {
  type AtomicWriteFailure,
  type WriteFileAtomicallyOptions,
  writeFileAtomically,
} from './write-file-atomically';
