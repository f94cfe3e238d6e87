export { FileFormatError, InvalidArgumentError, PtqError, type PtqErrorOptions } from './ptq-error';
export { summarizeNames } from './summarize-names';
