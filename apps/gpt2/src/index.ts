export { ExampleUsageError } from './example-errors';
export {
  DEFAULT_INPUT_TEXT,
  DEVICES,
  DTYPES,
  type ExampleOptions,
  MODEL_TYPES,
  parseExampleOptions,
  QUANT_MODE_CHOICES,
  QUANT_MODES,
  USAGE,
} from './example-options';
export { type ExampleIo, type ExampleResult, runExample, runPipeline } from './run-example';
