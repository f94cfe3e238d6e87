import { describe, expect, it } from 'vitest';
import { defaultWeightFormat, resolveWeightFormat } from './weight-format';

describe('weight formats', () => {
  it('defaults to MatMulNBits for integers and to the lookup for float8 on WebGPU only', () => {
    expect(defaultWeightFormat('int4-weight-only', 'webgpu')).toBe('matmul-nbits');
    expect(defaultWeightFormat('int8-weight-only', 'cpu')).toBe('matmul-nbits');
    expect(defaultWeightFormat('float8', 'cpu')).toBe('dequantize-linear');
    expect(defaultWeightFormat('float8', 'cuda')).toBe('dequantize-linear');
    expect(defaultWeightFormat('float8', 'webgpu')).toBe('lookup');
  });

  it('checks a requested format against the mode', () => {
    expect(resolveWeightFormat('float8', 'cpu', 'lookup')).toBe('lookup');
    expect(resolveWeightFormat('int8-weight-only', 'webgpu', 'dequantize-linear')).toBe('dequantize-linear');
    expect(resolveWeightFormat(undefined, 'cpu', undefined)).toBeUndefined();
    expect(() => resolveWeightFormat('int4-weight-only', 'cpu', 'lookup')).toThrow(
      'Invalid argument "weightFormat": must be one of matmul-nbits, dequantize-linear for int4-weight-only, got lookup',
    );
    expect(() => resolveWeightFormat('float8', 'cpu', 'matmul-nbits')).toThrow(
      'must be one of dequantize-linear, lookup for float8, got matmul-nbits',
    );
    expect(() => resolveWeightFormat(undefined, 'cpu', 'lookup')).toThrow('applies to quantized models only');
  });
});
