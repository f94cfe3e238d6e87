import { TEXT_ENCODINGS as CALIBRATION_ENCODINGS } from '@ptq/calibration';
import { ONNX_EXPORT_FORMATS } from '@ptq/export';
import { MODEL_DTYPES as NANOGPT_DTYPES, ENGINES as NANOGPT_ENGINES } from '@ptq/nanogpt';
import { AUTO_DEVICE_ORDER } from '@ptq/onnx';
import { QUANT_MODES as CORE_QUANT_MODES } from '@ptq/quant-core';
import { expect, test } from 'vitest';
import {
  DEVICES,
  ENGINES,
  EXPORT_FORMATS,
  MODEL_DTYPES,
  QUANT_MODES,
  TEXT_ENCODINGS,
} from './common-options';

test('the lists kept here (so help loads no model code) match the packages they stand in for', () => {
  expect(QUANT_MODES).toEqual(CORE_QUANT_MODES);
  expect(new Set(DEVICES)).toEqual(new Set(['auto', ...AUTO_DEVICE_ORDER]));
  expect(MODEL_DTYPES).toEqual(NANOGPT_DTYPES);
  expect(ENGINES).toEqual(NANOGPT_ENGINES);
  expect(EXPORT_FORMATS).toEqual(['modelopt-hf', ...ONNX_EXPORT_FORMATS]);
  expect(TEXT_ENCODINGS).toEqual(CALIBRATION_ENCODINGS);
});
