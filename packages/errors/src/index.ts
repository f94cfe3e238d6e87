export { closestName, closestNames } from './did-you-mean';
export { type EditDistanceOptions, editDistance } from './edit-distance';
export { PTQ_ERROR_CODES, PTQ_TEST_ERROR_CODES, type PtqErrorCode } from './error-codes';
export { FileFormatError, InvalidArgumentError, PtqError, type PtqErrorOptions } from './ptq-error';
export { summarizeNames } from './summarize-names';
