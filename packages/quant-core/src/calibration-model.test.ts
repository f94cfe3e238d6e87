import type { DatasetForwardLoop } from '@ptq/calibration';
import type { CalibrationModel, ForwardLoop } from '@ptq/types';
import { describe, expectTypeOf, test } from 'vitest';
import type {
  CalibrationModel as DeprecatedCalibrationModel,
  ForwardLoop as DeprecatedForwardLoop,
  GPT2CalibrationModel,
  GPT2ForwardLoop,
} from './index';

// Type-level: tsc (`type-check`) fails if the forward-loop shapes drift apart.
describe('one forward-loop contract', () => {
  test('the model quant-core hands a loop is a CalibrationModel of @ptq/types', () => {
    expectTypeOf<GPT2CalibrationModel>().toExtend<CalibrationModel>();
  });

  test("any plain ForwardLoop, and calibration's createForwardLoop result, is a loop modelOptQuantize takes", () => {
    expectTypeOf<ForwardLoop>().toExtend<GPT2ForwardLoop>();
    expectTypeOf<DatasetForwardLoop>().toExtend<GPT2ForwardLoop>();
  });

  test("quant-core's older names still mean what they meant", () => {
    expectTypeOf<DeprecatedCalibrationModel>().toEqualTypeOf<GPT2CalibrationModel>();
    expectTypeOf<DeprecatedForwardLoop>().toEqualTypeOf<GPT2ForwardLoop>();
  });
});
