import type { Tensor } from '@ptq/tensor';
import { OnnxGraphError } from './errors';
import type { Attribute } from './model-definition';

/**
 * What a node attribute may be given as. Plain numbers and arrays pick their ONNX type from their
 * content (integer → INT/INTS, otherwise FLOAT/FLOATS); the tagged forms force a type, e.g.
 * `{ type: 'float', value: 1 }` for a float attribute whose value happens to be whole.
 */
export type AttributeValue =
  | number
  | bigint
  | string
  | number[]
  | string[]
  | Tensor
  | { type: 'float'; value: number }
  | { type: 'floats'; value: number[] }
  | { type: 'int'; value: number }
  | { type: 'ints'; value: number[] };

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

function toInt64(value: number | bigint, where: string): bigint {
  if (typeof value === 'bigint') {
    if (value < INT64_MIN || value > INT64_MAX) {
      throw new OnnxGraphError(`${where}: ${value} is outside the int64 range`);
    }
    return value;
  }
  if (!Number.isSafeInteger(value)) {
    throw new OnnxGraphError(
      `${where}: ${value} is not a safe integer (pass a bigint for values beyond ±2^53)`,
    );
  }
  return BigInt(value);
}

function toFloat(value: unknown, where: string): number {
  if (typeof value !== 'number') {
    throw new OnnxGraphError(`${where}: expected a number, got ${typeof value}`);
  }
  return value;
}

function isTensor(value: object): value is Tensor {
  return 'dtype' in value && 'shape' in value && 'data' in value;
}

/**
 * Resolves an attribute value to its ONNX type. `where` names the node and attribute for errors.
 * An empty array becomes INTS: ONNX ops with list attributes that may be empty (axes, pads) take ints.
 */
export function toAttribute(name: string, value: AttributeValue, where: string): Attribute {
  switch (typeof value) {
    case 'number':
      return Number.isInteger(value)
        ? { name, type: 'int', value: toInt64(value, where) }
        : { name, type: 'float', value };
    case 'bigint':
      return { name, type: 'int', value: toInt64(value, where) };
    case 'string':
      return { name, type: 'string', value };
    case 'object':
      break;
    default:
      throw new OnnxGraphError(`${where}: unsupported attribute value of type ${typeof value}`);
  }
  if (value === null) {
    throw new OnnxGraphError(`${where}: attribute value is null`);
  }
  if (Array.isArray(value)) {
    if (value.every((item) => typeof item === 'string')) {
      return value.length === 0
        ? { name, type: 'ints', value: [] }
        : { name, type: 'strings', value: [...value] };
    }
    if (value.every((item) => typeof item === 'number')) {
      return value.every((item) => Number.isInteger(item))
        ? { name, type: 'ints', value: value.map((item) => toInt64(item, where)) }
        : { name, type: 'floats', value: [...value] };
    }
    throw new OnnxGraphError(`${where}: a list attribute must hold only numbers or only strings`);
  }
  if ('type' in value) {
    switch (value.type) {
      case 'float':
        return { name, type: 'float', value: toFloat(value.value, where) };
      case 'floats':
        return { name, type: 'floats', value: value.value.map((item) => toFloat(item, where)) };
      case 'int':
        return { name, type: 'int', value: toInt64(value.value, where) };
      case 'ints':
        return { name, type: 'ints', value: value.value.map((item) => toInt64(item, where)) };
      default:
        throw new OnnxGraphError(
          `${where}: unknown attribute type "${String((value as { type: unknown }).type)}"`,
        );
    }
  }
  if (isTensor(value)) {
    return { name, type: 'tensor', value };
  }
  throw new OnnxGraphError(`${where}: unsupported attribute value`);
}
