export { DEVICES, MODEL_DTYPES, QUANT_MODES } from '@ptq/types';
export { OutputPathError, UnsupportedModelError, UsageError } from './cli-errors';
export {
  type ArgumentSpec,
  type CommandContext,
  type CommandDefinition,
  type CommandInput,
  defineCommand,
  type Example,
} from './command-definition';
export { COMMANDS } from './commands/command-table';
export { EXPORT_FORMATS, type ExportFormatName, GLOBAL_OPTIONS } from './options/common-options';
export {
  booleanOption,
  choiceOption,
  type OptionSpec,
  type OptionTable,
  type OptionValues,
  parseOptionValues,
  requiredOption,
  valueOption,
  withDefault,
} from './options/option-spec';
export {
  choiceParser,
  parseNonNegativeInteger,
  parseNonNegativeNumber,
  parsePositiveInteger,
  parseText,
} from './options/parse-values';
export { EXIT_FAILURE, EXIT_SUCCESS, EXIT_USAGE, formatError } from './output/format-error';
export type { CliIo, OutputStream } from './output/output-stream';
export { createProgress, type Progress, type ProgressStyle, type ProgressTask } from './output/progress';
export { type CheckedOutputPath, checkOutputPath } from './paths/check-output-path';
export { runCli } from './run-cli';
