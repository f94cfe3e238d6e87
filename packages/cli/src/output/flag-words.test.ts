import { expect, test } from 'vitest';
import { inFlagWords } from './flag-words';

test.each([
  [
    'records have neither a "text" nor an "article" field (fields: id); pass options.field',
    'records have neither a "text" nor an "article" field (fields: id); pass --dataset-field',
  ],
  [
    'x.jsonl has 3 non-empty texts, fewer than the 16 asked for (numSamples)',
    'x.jsonl has 3 non-empty texts, fewer than the 16 asked for with --calib-size',
  ],
  [
    'Invalid argument "modelFile": out has no onnx/model.onnx; it has onnx/model_q4.onnx',
    'out has no onnx/model.onnx; it has onnx/model_q4.onnx',
  ],
  [
    'Invalid argument "modelFile": out holds several ONNX models (onnx/a.onnx, onnx/b.onnx); name one',
    'out holds several ONNX models (onnx/a.onnx, onnx/b.onnx); keep one in the folder',
  ],
  [
    '2 unexpected tensor(s) in the checkpoint (pass strict: false to ignore): a, b',
    '2 unexpected tensor(s) in the checkpoint: a, b',
  ],
  ['q4 is already a onnx export; quantize', 'q4 is already an onnx export; quantize'],
  ['q4 is already a onnx-qdq export', 'q4 is already an onnx-qdq export'],
  ['q8 is already a modelopt-hf export', 'q8 is already a modelopt-hf export'],
])('%s', (library, cli) => {
  expect(inFlagWords(library)).toBe(cli);
});
