import { TEXT_ENCODINGS as CALIBRATION_ENCODINGS } from '@ptq/calibration';
import { ONNX_EXPORT_FORMATS } from '@ptq/export';
import { MODEL_DTYPES as NANOGPT_DTYPES, ENGINES as NANOGPT_ENGINES } from '@ptq/nanogpt';
import { AUTO_DEVICE_ORDER } from '@ptq/onnx';
import { QUANT_MODES as CORE_QUANT_MODES } from '@ptq/quant-core';
import { DEVICES, MODEL_DTYPES, QUANT_MODES, EXPORT_FORMATS as TYPES_EXPORT_FORMATS } from '@ptq/types';
import { expect, test } from 'vitest';
import { UsageError } from '../cli-errors';
import { COMMANDS } from '../commands/command-table';
import { DATASET_SPLITS, ENGINES, EXPORT_FORMATS, TEXT_ENCODINGS } from './common-options';

test("the lists help shows (from packages that load no model code) are the packages' own", () => {
  expect(QUANT_MODES).toEqual(CORE_QUANT_MODES);
  expect(new Set(DEVICES)).toEqual(new Set(['auto', ...AUTO_DEVICE_ORDER]));
  expect(MODEL_DTYPES).toEqual(NANOGPT_DTYPES);
  expect(ENGINES).toBe(NANOGPT_ENGINES);
  expect(EXPORT_FORMATS).toBe(TYPES_EXPORT_FORMATS);
  expect(EXPORT_FORMATS).toEqual(['modelopt-hf', ...ONNX_EXPORT_FORMATS]);
  expect(TEXT_ENCODINGS).toBe(CALIBRATION_ENCODINGS);
  expect(DATASET_SPLITS).toEqual(['lines', 'paragraphs']);
});

test("every command's --mode, --device and --dtype accept exactly the lists of @ptq/types", () => {
  const lists: Record<string, readonly string[]> = {
    '--mode': QUANT_MODES,
    '--device': DEVICES,
    '--dtype': MODEL_DTYPES,
  };
  const checked: string[] = [];
  for (const command of COMMANDS) {
    for (const spec of Object.values(command.options)) {
      const flag = spec.flags.split(' ')[0]!;
      const list = lists[flag];
      if (list === undefined) continue;
      checked.push(`${command.name} ${flag}`);
      expect(spec.choices, `${command.name} ${flag}`).toEqual(list);
      for (const value of list) expect(spec.parse(value, flag)).toBe(value);
      expect(() => spec.parse('int3', flag)).toThrow(UsageError);
      expect(() => spec.parse(`${list[0]} `, flag)).toThrow(UsageError);
    }
  }
  // Every command that runs a model takes a device; quantize takes all three flags.
  expect(checked).toEqual(
    expect.arrayContaining([
      'quantize --mode',
      'quantize --device',
      'quantize --dtype',
      'generate --device',
      'eval --device',
    ]),
  );
});
