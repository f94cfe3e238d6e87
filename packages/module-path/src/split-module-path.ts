import { InvalidArgumentError } from '@ptq/errors';
import { describeValue } from './describe-value';
import { ModulePathError } from './module-path-error';

/** The only spelling of a list index that resolves: `"0"`, `"12"`, never `"00"`, `"-1"`, `" 1"`, `"1.5"`. */
const CANONICAL_INDEX = /^(?:0|[1-9][0-9]*)$/;

/**
 * Splits a dotted module path into its segments; the empty path is the root (no segments).
 * Empty segments are rejected because no module name is empty.
 */
export function splitModulePath(path: string): string[] {
  if (typeof path !== 'string') {
    throw new InvalidArgumentError('path', `must be a string, got ${describeValue(path)}`);
  }
  if (path === '') {
    return [];
  }
  const segments = path.split('.');
  const emptyAt = segments.indexOf('');
  if (emptyAt !== -1) {
    throw new ModulePathError(
      path,
      '',
      `segment ${emptyAt + 1} of ${segments.length} is empty; a module path is dot-separated names ` +
        'such as "transformer.h.0.attn", with no leading, trailing or doubled dots',
    );
  }
  return segments;
}

/** The list index a segment spells, or `undefined` when it is not a canonical non-negative integer. */
export function parseListIndex(segment: string): number | undefined {
  return CANONICAL_INDEX.test(segment) ? Number(segment) : undefined;
}

/** Joins a parent path and a child name the way PyTorch's `named_modules` does. */
export function joinModulePath(parent: string, name: string): string {
  return parent === '' ? name : `${parent}.${name}`;
}

/** Whether `getSubmodule` can address a container entry called `name` (no dots, not empty). */
export function isAddressableName(name: string): boolean {
  return name !== '' && !name.includes('.');
}
