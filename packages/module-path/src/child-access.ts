import { closestName } from '@ptq/errors';
import { describeContainer, describeLeaf, describeLocation, describeValue } from './describe-value';
import { ModulePathError } from './module-path-error';
import { parseListIndex } from './split-module-path';

/** Where one segment of a path is being resolved. */
export interface SegmentLocation {
  /** The full path asked for. */
  readonly path: string;
  /** The segment being resolved. */
  readonly segment: string;
  /** The path of the container the segment is looked up in (`''` for the root). */
  readonly parentPath: string;
}

/** How many names an "available: …" list shows before it is cut short. */
const MAXIMUM_LISTED_NAMES = 20;

/**
 * The property descriptor for `name` on `target` or its prototypes, stopping before
 * `Object.prototype` so `constructor`, `toString` or `__proto__` never resolve as submodules.
 */
export function findProperty(target: object, name: string): PropertyDescriptor | undefined {
  for (
    let current: object | null = target;
    current !== null && current !== Object.prototype;
    current = Object.getPrototypeOf(current) as object | null
  ) {
    const descriptor = Object.getOwnPropertyDescriptor(current, name);
    if (descriptor !== undefined) {
      return descriptor;
    }
  }
  return undefined;
}

/** Throws when `container` cannot hold submodules, saying what it is. */
export function assertNotLeaf(
  container: unknown,
  location: SegmentLocation,
  action: string,
): asserts container is object {
  const leaf = describeLeaf(container);
  if (leaf !== undefined) {
    const where = location.parentPath === '' ? 'the root' : `"${location.parentPath}"`;
    throw new ModulePathError(
      location.path,
      location.segment,
      `cannot ${action} "${location.segment}" in ${where}, which is ${leaf}`,
    );
  }
}

/** The index a segment names in `list`, or a `ModulePathError` saying why it names none. */
export function checkListIndex(list: readonly unknown[], location: SegmentLocation): number {
  const { path, segment, parentPath } = location;
  const validRange = list.length === 0 ? 'the list is empty' : `valid: 0..${list.length - 1}`;
  const index = parseListIndex(segment);
  if (index === undefined) {
    throw new ModulePathError(
      path,
      segment,
      `"${segment}" is not an index into the list ${describeLocation(parentPath)} (expected a non-negative ` +
        `integer written without sign, spaces or leading zeros; ${validRange})`,
    );
  }
  if (index >= list.length) {
    const detail =
      list.length === 0
        ? `index ${segment} is out of range for an empty list`
        : `index ${segment} is out of range for a list of ${list.length} module${list.length === 1 ? '' : 's'} (${validRange})`;
    throw new ModulePathError(path, segment, detail);
  }
  return index;
}

/** The names an unknown-name message offers: string Map keys, or own enumerable object-valued properties. */
export function availableNames(container: object): string[] {
  if (container instanceof Map) {
    return [...container.keys()].filter((key): key is string => typeof key === 'string').sort();
  }
  return Object.keys(container)
    .filter((key) => {
      const value: unknown = (container as Record<string, unknown>)[key];
      return typeof value === 'object' && value !== null;
    })
    .sort();
}

/** The error for a name that is not on `container`: what is available and, when close, a suggestion. */
export function unknownNameError(
  container: object,
  location: SegmentLocation,
  hint?: string,
): ModulePathError {
  const { path, segment, parentPath } = location;
  const names = availableNames(container);
  const listed = names.slice(0, MAXIMUM_LISTED_NAMES).join(', ');
  const more = names.length > MAXIMUM_LISTED_NAMES ? `, … ${names.length - MAXIMUM_LISTED_NAMES} more` : '';
  const notes = [`available: ${names.length === 0 ? 'none' : `${listed}${more}`}`];
  const suggestion = closestName(segment, names);
  if (suggestion !== undefined) {
    notes.push(`did you mean "${suggestion}"?`);
  }
  if (hint !== undefined) {
    notes.push(hint);
  }
  const noun = container instanceof Map ? 'key' : 'attribute';
  return new ModulePathError(
    path,
    segment,
    `${describeContainer(container)} ${describeLocation(parentPath)} has no ${noun} "${segment}" (${notes.join('; ')})`,
  );
}

/** The error for a name that resolves to a method or other function rather than a submodule. */
export function functionMemberError(
  container: object,
  location: SegmentLocation,
  value: unknown,
): ModulePathError {
  const { path, segment, parentPath } = location;
  return new ModulePathError(
    path,
    segment,
    `"${segment}" on ${describeContainer(container)} ${describeLocation(parentPath)} is ${describeValue(value)}, not a submodule`,
  );
}

/**
 * Resolves one segment on `container`, as the seed's `get_submodule` does: a list is indexed by
 * integer, a Map by key, anything else by attribute (own or inherited, never a function).
 */
export function readChild(container: unknown, location: SegmentLocation): unknown {
  assertNotLeaf(container, location, 'look up');
  const { segment } = location;
  if (Array.isArray(container)) {
    return container[checkListIndex(container, location)];
  }
  if (container instanceof Map) {
    if (!container.has(segment)) {
      throw unknownNameError(container, location);
    }
    return container.get(segment);
  }
  if (findProperty(container, segment) === undefined) {
    throw unknownNameError(container, location);
  }
  const value: unknown = Reflect.get(container, segment);
  if (typeof value === 'function') {
    throw functionMemberError(container, location, value);
  }
  return value;
}
