export { decodeText, findInvalidUtf8, TEXT_ENCODINGS, type TextEncoding } from './decode-text';
export { FileTooLargeError, NotARegularFileError, TextEncodingError } from './file-errors';
export { openRegularFile, type RegularFileOptions, readRegularFile } from './regular-file';
