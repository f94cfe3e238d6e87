/**
 * Library wording that means something else on the command line, and what the CLI says instead:
 * the libraries name their options (`options.field`), the command line has flags.
 */
const REPLACEMENTS: readonly (readonly [RegExp, string])[] = [
  [/pass options\.field\b/g, 'pass --dataset-field'],
  [/asked for \(numSamples\)/g, 'asked for with --calib-size'],
  [/\(numSamples\)/g, '(--calib-size)'],
  [/Invalid argument "modelFile": /g, ''],
  [/; name one\b/g, '; keep one in the folder'],
  [/ \(pass strict: false to ignore\)/g, ''],
  [/\ba (onnx|onnx-qdq) export\b/g, 'an $1 export'],
];

/** A library's error message in the words of the CLI's flags. */
export function inFlagWords(message: string): string {
  return REPLACEMENTS.reduce((text, [pattern, replacement]) => text.replace(pattern, replacement), message);
}
