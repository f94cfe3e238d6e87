import { InvalidArgumentError } from '@ptq/errors';
import {
  assertNotLeaf,
  checkListIndex,
  findProperty,
  functionMemberError,
  readChild,
  type SegmentLocation,
  unknownNameError,
} from './child-access';
import { describeContainer, describeLocation, describeValue } from './describe-value';
import { ModulePathError } from './module-path-error';
import { joinModulePath, splitModulePath } from './split-module-path';

export interface SetSubmoduleOptions {
  /**
   * Add the last segment when the parent lacks it: a new `Map` key or a new own property. Lists
   * are never grown. Like PyTorch's `set_submodule`, the default only replaces what exists.
   */
  create?: boolean;
}

const CREATE_HINT = 'pass { create: true } to add it';

/**
 * Puts `value` at a dotted `path` below `root`, replacing what is there: the last segment is an
 * in-range index on an array, a key on a `Map`, or a property on anything else. The parent must
 * exist; the last segment must exist too unless `options.create` is set.
 *
 * @throws ModulePathError (code `PTQ_MODULE_PATH`) for the same path errors as `getSubmodule`, for
 *   the empty path (the root cannot be replaced), and for read-only or non-extensible targets.
 * @throws InvalidArgumentError when `value` is a function, which `getSubmodule` would not return.
 */
export function setSubmodule(
  root: object,
  path: string,
  value: unknown,
  options: SetSubmoduleOptions = {},
): void {
  const segments = splitModulePath(path);
  if (typeof value === 'function') {
    throw new InvalidArgumentError(
      'value',
      `cannot put ${describeValue(value)} at "${path}": functions are not submodules`,
    );
  }
  const last = segments.pop();
  if (last === undefined) {
    throw new ModulePathError(
      path,
      '',
      'the root cannot be replaced; give the path of a submodule such as "transformer.h.0"',
    );
  }
  let parent: unknown = root;
  let parentPath = '';
  for (const segment of segments) {
    parent = readChild(parent, { path, segment, parentPath });
    parentPath = joinModulePath(parentPath, segment);
  }
  writeChild(parent, value, { path, segment: last, parentPath }, options.create === true);
}

function writeChild(container: unknown, value: unknown, location: SegmentLocation, create: boolean): void {
  assertNotLeaf(container, location, 'set');
  const { path, segment, parentPath } = location;
  const readOnly = (): ModulePathError =>
    new ModulePathError(
      path,
      segment,
      `"${segment}" on ${describeContainer(container)} ${describeLocation(parentPath)} is read-only`,
    );
  if (Array.isArray(container)) {
    if (!Reflect.set(container, checkListIndex(container, location), value)) {
      throw readOnly();
    }
    return;
  }
  if (container instanceof Map) {
    if (!container.has(segment) && !create) {
      throw unknownNameError(container, location, CREATE_HINT);
    }
    container.set(segment, value);
    return;
  }
  if (findProperty(container, segment) === undefined) {
    if (!create) {
      throw unknownNameError(container, location, CREATE_HINT);
    }
    // defineProperty, not assignment: a new "__proto__" must become a property, not a new prototype.
    const added = Reflect.defineProperty(container, segment, {
      value,
      writable: true,
      enumerable: true,
      configurable: true,
    });
    if (!added) {
      throw new ModulePathError(
        path,
        segment,
        `cannot add "${segment}" to ${describeContainer(container)} ${describeLocation(parentPath)}: it is not extensible`,
      );
    }
    return;
  }
  const current: unknown = Reflect.get(container, segment);
  if (typeof current === 'function') {
    throw functionMemberError(container, location, current);
  }
  if (!Reflect.set(container, segment, value)) {
    throw readOnly();
  }
}
