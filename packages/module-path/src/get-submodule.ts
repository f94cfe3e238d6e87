import { readChild } from './child-access';
import { joinModulePath, splitModulePath } from './split-module-path';

/**
 * The object at a dotted `path` below `root`, e.g. `transformer.h.0.attn.c_attn`. Each segment is
 * an integer index on an array (PyTorch `ModuleList`), a key on a `Map` (`ModuleDict`) and an
 * attribute on anything else. The empty path is `root` itself.
 *
 * `T` is not checked: it only names what the caller expects to find.
 *
 * @throws ModulePathError (code `PTQ_MODULE_PATH`) when a segment does not resolve; the message
 *   names the full path, the segment and what was found instead.
 */
export function getSubmodule<T = unknown>(root: object, path: string): T {
  const segments = splitModulePath(path);
  let current: unknown = root;
  let parentPath = '';
  for (const segment of segments) {
    current = readChild(current, { path, segment, parentPath });
    parentPath = joinModulePath(parentPath, segment);
  }
  return current as T;
}
