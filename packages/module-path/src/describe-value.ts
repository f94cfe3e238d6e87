import { Module } from './module';

/** The shape of a ptq tensor (`@ptq/tensor`), recognised structurally so any tensor type is a leaf. */
export interface TensorLike {
  readonly dtype: string;
  readonly shape: readonly unknown[];
  readonly data: unknown;
}

/** Whether `value` looks like a tensor: `{ dtype, shape, data }` with a string dtype and an array shape. */
export function isTensorLike(value: unknown): value is TensorLike {
  if (typeof value !== 'object' || value === null) {
    return false;
  }
  const candidate = value as Partial<Record<'dtype' | 'shape', unknown>>;
  return typeof candidate.dtype === 'string' && Array.isArray(candidate.shape) && 'data' in value;
}

/** Whether `value` is binary storage: a typed array, a `DataView` or an array buffer. */
export function isBinary(value: unknown): boolean {
  return ArrayBuffer.isView(value) || value instanceof ArrayBuffer || value instanceof SharedArrayBuffer;
}

/** Whether `value` is a record created by `{}`, `Object.create(null)` or `JSON.parse`. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) {
    return false;
  }
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

/** The constructor name of an object, or `object` for plain and null-prototype records. */
export function constructorNameOf(value: object): string {
  if (isPlainObject(value)) {
    return 'object';
  }
  const name: unknown = (value as { constructor?: { name?: unknown } }).constructor?.name;
  return typeof name === 'string' && name !== '' ? name : 'object';
}

/** The layer kind of a module, also for foreign modules that carry only the marker. */
export function moduleTypeOf(module: Module): string {
  const moduleType: unknown = module.moduleType;
  return typeof moduleType === 'string' && moduleType !== '' ? moduleType : constructorNameOf(module);
}

/** "a" or "an" before a word, by its first letter ("an int8 tensor", "a uint8 tensor"). */
function article(word: string): string {
  return /^[aeio]/i.test(word) ? 'an' : 'a';
}

function withArticle(word: string): string {
  return `${article(word)} ${word}`;
}

function plural(count: number, singular: string, pluralForm = `${singular}s`): string {
  return `${count} ${count === 1 ? singular : pluralForm}`;
}

const MAXIMUM_QUOTED_LENGTH = 40;

/** What a value is, for error messages: "the number 0.5", "a float32 tensor of shape [4, 12]", "null". */
export function describeValue(value: unknown): string {
  switch (typeof value) {
    case 'undefined':
      return 'undefined';
    case 'string': {
      const shown =
        value.length > MAXIMUM_QUOTED_LENGTH ? `${value.slice(0, MAXIMUM_QUOTED_LENGTH)}…` : value;
      return `the string ${JSON.stringify(shown)}`;
    }
    case 'number':
      return `the number ${value}`;
    case 'boolean':
      return `the boolean ${value}`;
    case 'bigint':
      return `the bigint ${value}n`;
    case 'symbol':
      return `the symbol ${value.toString()}`;
    case 'function':
      return value.name === '' ? 'a function' : `the function ${value.name}`;
  }
  if (typeof value !== 'object' || value === null) {
    return 'null';
  }
  if (Module.isModule(value)) {
    return `${withArticle(moduleTypeOf(value))} module`;
  }
  if (Array.isArray(value)) {
    return `a list of ${plural(value.length, 'item')}`;
  }
  if (value instanceof Map) {
    return `a Map of ${plural(value.size, 'entry', 'entries')}`;
  }
  if (isTensorLike(value)) {
    return `${withArticle(value.dtype)} tensor of shape [${value.shape.map(String).join(', ')}]`;
  }
  if (ArrayBuffer.isView(value)) {
    const name = constructorNameOf(value);
    const length = (value as { length?: unknown }).length;
    return typeof length === 'number'
      ? `${withArticle(name)} of length ${length}`
      : `${withArticle(name)} of ${plural(value.byteLength, 'byte')}`;
  }
  if (value instanceof ArrayBuffer || value instanceof SharedArrayBuffer) {
    return `${withArticle(constructorNameOf(value))} of ${plural(value.byteLength, 'byte')}`;
  }
  return withArticle(constructorNameOf(value));
}

/**
 * What a value is when it cannot hold submodules (a primitive, null, a tensor, binary storage), or
 * `undefined` when a path may go on through it. Modules, arrays and Maps are never leaves.
 */
export function describeLeaf(value: unknown): string | undefined {
  if (typeof value === 'object' && value !== null) {
    if (Module.isModule(value) || Array.isArray(value) || value instanceof Map) {
      return undefined;
    }
    return isTensorLike(value) || isBinary(value) ? describeValue(value) : undefined;
  }
  return describeValue(value);
}

/** How a container is named in messages: "the GPT2Model", "the list", "the Map", "the object". */
export function describeContainer(container: object): string {
  if (Module.isModule(container)) {
    return `the ${moduleTypeOf(container)}`;
  }
  if (Array.isArray(container)) {
    return 'the list';
  }
  if (container instanceof Map) {
    return 'the Map';
  }
  return `the ${constructorNameOf(container)}`;
}

/** Where a container sits: `at "transformer.h"`, or `at the root`. */
export function describeLocation(parentPath: string): string {
  return parentPath === '' ? 'at the root' : `at "${parentPath}"`;
}
