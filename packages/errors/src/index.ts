export { FileFormatError, InvalidArgumentError, PtqError, type PtqErrorOptions } from './ptq-error';
