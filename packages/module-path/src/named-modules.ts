import { isPlainObject, isTensorLike } from './describe-value';
import { Module } from './module';
import { isAddressableName, joinModulePath } from './split-module-path';

export interface NamedModulesOptions {
  /** Prepended to every path, like PyTorch's `prefix` (default `''`). */
  prefix?: string;
  /** Whether the root itself comes first when it is a `Module` (default `true`). */
  includeRoot?: boolean;
}

/**
 * Whether the walk looks inside `value` although it is not a module: arrays, Maps and plain records
 * are containers; tensors, typed arrays and other class instances (runtime sessions) are not.
 */
function isContainer(value: object): boolean {
  return Array.isArray(value) || value instanceof Map || (isPlainObject(value) && !isTensorLike(value));
}

/**
 * The addressable entries of a module or container, in insertion order: array items (holes
 * skipped), string Map keys, own enumerable properties. Names `getSubmodule` could not resolve
 * (empty, or containing a dot) are skipped.
 */
function childEntries(container: object): Array<[string, unknown]> {
  if (Array.isArray(container)) {
    const entries: Array<[string, unknown]> = [];
    for (let index = 0; index < container.length; index += 1) {
      if (index in container) {
        entries.push([String(index), container[index]]);
      }
    }
    return entries;
  }
  if (container instanceof Map) {
    return [...container].filter(
      (entry): entry is [string, unknown] => typeof entry[0] === 'string' && isAddressableName(entry[0]),
    );
  }
  return Object.keys(container)
    .filter(isAddressableName)
    .map((key): [string, unknown] => [key, (container as Record<string, unknown>)[key]]);
}

function* visitModules(
  value: unknown,
  path: string,
  seen: Set<object>,
  yieldSelf: boolean,
): Generator<[string, Module]> {
  if (typeof value !== 'object' || value === null || seen.has(value)) {
    return;
  }
  seen.add(value);
  if (Module.isModule(value)) {
    if (yieldSelf) {
      yield [path, value];
    }
  } else if (!isContainer(value)) {
    return;
  }
  for (const [name, child] of childEntries(value)) {
    yield* visitModules(child, joinModulePath(path, name), seen, true);
  }
}

/**
 * Every `Module` reachable from `root`, with its path, depth-first in insertion order like PyTorch's
 * `named_modules()`. Properties, arrays, Maps and plain records are followed; arrays, Maps and
 * records are not yielded themselves. A module reachable by several paths (a tied layer) comes
 * once, under the first path. Tensors, typed arrays, functions and class instances that are not
 * modules are not entered. Every yielded path (without `prefix`) resolves with `getSubmodule`.
 *
 * Each container's entries are read when the walk reaches it, so replacing the module just yielded
 * (as quantization does) is safe; the replacement itself is not visited.
 */
export function* namedModules(root: object, options: NamedModulesOptions = {}): Generator<[string, Module]> {
  const { prefix = '', includeRoot = true } = options;
  yield* visitModules(root, prefix, new Set(), includeRoot);
}

function* visitChildren(value: unknown, path: string, seen: Set<object>): Generator<[string, Module]> {
  if (typeof value !== 'object' || value === null || seen.has(value)) {
    return;
  }
  seen.add(value);
  if (Module.isModule(value)) {
    yield [path, value];
    return;
  }
  if (!isContainer(value)) {
    return;
  }
  for (const [name, child] of childEntries(value)) {
    yield* visitChildren(child, joinModulePath(path, name), seen);
  }
}

/**
 * The nearest modules below `module`, with their paths relative to it, like PyTorch's
 * `named_children()`. Because arrays and Maps are containers here rather than modules, the children
 * of a GPT-2 `transformer` are `wte`, `wpe`, `drop`, `h.0`, `h.1`, …, `ln_f`. Each module comes once.
 */
export function* namedChildren(module: object): Generator<[string, Module]> {
  if (!Module.isModule(module) && !isContainer(module)) {
    return;
  }
  const seen = new Set<object>([module]);
  for (const [name, child] of childEntries(module)) {
    yield* visitChildren(child, name, seen);
  }
}
