import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, expectTypeOf, test } from 'vitest';
import {
  type CalibrationModel,
  DEVICES,
  type Device,
  ENGINES,
  type Engine,
  EXPORT_FORMATS,
  type ExportFormat,
  type ForwardLoop,
  isQuantMode,
  MODEL_DTYPES,
  type ModelDType,
  QUANT_MODES,
  type QuantMode,
  type ResolvedDevice,
} from './index';

describe('the shared lists', () => {
  test('hold exactly the values ptq accepts, in the order help and messages list them', () => {
    expect(QUANT_MODES).toEqual(['int8-weight-only', 'int4-weight-only', 'float8']);
    expect(DEVICES).toEqual(['auto', 'cpu', 'webgpu', 'cuda']);
    expect(MODEL_DTYPES).toEqual(['float32', 'float16']);
    expect(ENGINES).toEqual(['onnxruntime', 'kernels', 'auto']);
    expect(EXPORT_FORMATS).toEqual(['modelopt-hf', 'onnx', 'onnx-qdq']);
  });

  test("are frozen, so no package can change another one's list", () => {
    for (const list of [QUANT_MODES, DEVICES, MODEL_DTYPES, ENGINES, EXPORT_FORMATS]) {
      expect(Object.isFrozen(list)).toBe(true);
      expect(() => (list as unknown as string[]).push('int3')).toThrow(TypeError);
    }
  });

  test('isQuantMode is true for exactly the listed modes', () => {
    for (const mode of QUANT_MODES) expect(isQuantMode(mode)).toBe(true);
    for (const value of ['none', 'int8', 'INT8-WEIGHT-ONLY', 'float8 ', '', undefined, null, 8, ['float8']]) {
      expect(isQuantMode(value)).toBe(false);
    }
  });

  test('each type is its list, value for value', () => {
    expectTypeOf<QuantMode>().toEqualTypeOf<'int8-weight-only' | 'int4-weight-only' | 'float8'>();
    expectTypeOf<Device>().toEqualTypeOf<'auto' | 'cpu' | 'webgpu' | 'cuda'>();
    expectTypeOf<ResolvedDevice>().toEqualTypeOf<'cpu' | 'webgpu' | 'cuda'>();
    expectTypeOf<ModelDType>().toEqualTypeOf<'float32' | 'float16'>();
    expectTypeOf<Engine>().toEqualTypeOf<'onnxruntime' | 'kernels' | 'auto'>();
    expectTypeOf<ExportFormat>().toEqualTypeOf<'modelopt-hf' | 'onnx' | 'onnx-qdq'>();
  });

  test('a loop written for the plain CalibrationModel is a loop for a richer one', () => {
    interface TokenizedModel extends CalibrationModel {
      readonly tokenizer: { encode(text: string): number[] };
    }
    expectTypeOf<ForwardLoop>().toExtend<ForwardLoop<TokenizedModel>>();
    expectTypeOf<ForwardLoop<TokenizedModel>>().not.toExtend<ForwardLoop>();
  });
});

// The CLI reads these lists to print `--help` and check flags; that must load no model code
// (onnxruntime-node's native binding, transformers.js), so this package imports nothing at run time.
test('no source file imports a module at run time', () => {
  const sourceDir = fileURLToPath(new URL('.', import.meta.url));
  const sources = readdirSync(sourceDir).filter((name) => name.endsWith('.ts') && !name.endsWith('.test.ts'));
  expect(sources.length).toBeGreaterThanOrEqual(5);
  for (const name of sources) {
    const text = readFileSync(`${sourceDir}${name}`, 'utf8');
    const runtimeImports = [...text.matchAll(/^(?:import|export)\s+(?!type\b)[^;]*?\bfrom\s+'([^']+)'/gms)]
      .map((match) => match[1])
      .filter((specifier) => !specifier?.startsWith('./'));
    const dynamicImports = text.match(/\bimport\(|\brequire\(/g) ?? [];
    expect({ name, runtimeImports, dynamicImports }).toEqual({
      name,
      runtimeImports: [],
      dynamicImports: [],
    });
  }
});
