import * as fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isTensorLike } from './describe-value';
import { getSubmodule } from './get-submodule';
import { Module } from './module';
import { namedModules } from './named-modules';
import { setSubmodule } from './set-submodule';

/** A description of an object graph; `build` turns it into fresh objects on every run. */
type Shape =
  | { kind: 'leaf'; value: unknown }
  | { kind: 'tensor' }
  | { kind: 'module'; type: 0 | 1; entries: Array<[string, Shape]> }
  | { kind: 'list'; items: Shape[] }
  | { kind: 'dict'; entries: Array<[string, Shape]> }
  | { kind: 'record'; nullPrototype: boolean; entries: Array<[string, Shape]> }
  | { kind: 'opaque'; inner: Shape };

class Block extends Module {}
class Linear extends Module {
  forward(): void {}
}
class Opaque {
  constructor(readonly inner: unknown) {}
}

// Names chosen to collide with lists ("0"), prototypes ("__proto__", "constructor", "forward"),
// tensors ("dtype", "shape", "data") and the separator ("a.b", "").
const NAME = fc.constantFrom(
  'a',
  'b',
  'h',
  '0',
  '1',
  'attn',
  'c_attn',
  'dtype',
  'shape',
  'data',
  '__proto__',
  'constructor',
  'forward',
  'a.b',
  '',
);

const { shape } = fc.letrec<{ shape: Shape }>((tie) => {
  const entries = fc.uniqueArray(fc.tuple(NAME, tie('shape')), { selector: ([name]) => name, maxLength: 4 });
  return {
    shape: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      {
        weight: 1,
        arbitrary: fc.record({
          kind: fc.constant('leaf' as const),
          value: fc.oneof(
            fc.constant(null),
            fc.integer(),
            fc.constantFrom('float32', 'x'),
            fc.constant([1, 2]),
          ),
        }),
      },
      { weight: 1, arbitrary: fc.constant({ kind: 'tensor' as const }) },
      {
        weight: 4,
        arbitrary: fc.record({
          kind: fc.constant('module' as const),
          type: fc.constantFrom(0 as const, 1 as const),
          entries,
        }),
      },
      {
        weight: 2,
        arbitrary: fc.record({
          kind: fc.constant('list' as const),
          items: fc.array(tie('shape'), { maxLength: 4 }),
        }),
      },
      { weight: 2, arbitrary: fc.record({ kind: fc.constant('dict' as const), entries }) },
      {
        weight: 2,
        arbitrary: fc.record({ kind: fc.constant('record' as const), nullPrototype: fc.boolean(), entries }),
      },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('opaque' as const), inner: tie('shape') }) },
    ),
  };
});

function define(target: object, name: string, value: unknown): void {
  // defineProperty, so "__proto__" becomes an own property as it would from JSON.parse.
  Object.defineProperty(target, name, { value, writable: true, enumerable: true, configurable: true });
}

function build(description: Shape, modules: Module[]): unknown {
  switch (description.kind) {
    case 'leaf':
      return description.value;
    case 'tensor':
      return { dtype: 'float32', shape: [1], data: new Float32Array(1) };
    case 'module': {
      const module = description.type === 0 ? new Block() : new Linear();
      modules.push(module);
      for (const [name, child] of description.entries) {
        define(module, name, build(child, modules));
      }
      return module;
    }
    case 'list':
      return description.items.map((item) => build(item, modules));
    case 'dict':
      return new Map(description.entries.map(([name, child]) => [name, build(child, modules)]));
    case 'record': {
      const record: object = description.nullPrototype ? Object.create(null) : {};
      for (const [name, child] of description.entries) {
        define(record, name, build(child, modules));
      }
      return record;
    }
    case 'opaque':
      return new Opaque(build(description.inner, modules));
  }
}

/** Root module, shape, and aliases that add shared references (and cycles) between modules. */
const GRAPH = fc.record({
  entries: fc.uniqueArray(fc.tuple(NAME, shape), { selector: ([name]) => name, minLength: 1, maxLength: 5 }),
  aliases: fc.array(fc.tuple(fc.nat(), fc.nat(), fc.constantFrom('alias', 'h', 'tied')), { maxLength: 4 }),
});

function buildGraph(graph: { entries: Array<[string, Shape]>; aliases: Array<[number, number, string]> }): {
  root: Module;
  modules: Module[];
} {
  const modules: Module[] = [];
  const root = build({ kind: 'module', type: 0, entries: graph.entries }, modules) as Module;
  for (const [from, to, name] of graph.aliases) {
    define(modules[to % modules.length] as object, name, modules[from % modules.length]);
  }
  return { root, modules };
}

/**
 * Reference: the modules reachable from `root` by breadth-first search under the same rules
 * (follow modules, arrays, Maps with addressable string keys, plain records that are not tensors).
 */
function reachableModules(root: object): Set<Module> {
  const found = new Set<Module>();
  const visited = new Set<object>();
  const queue: unknown[] = [root];
  const addressable = (name: unknown): boolean =>
    typeof name === 'string' && name !== '' && !name.includes('.');
  while (queue.length > 0) {
    const value = queue.shift();
    if (typeof value !== 'object' || value === null || visited.has(value)) continue;
    visited.add(value);
    const prototype: unknown = Object.getPrototypeOf(value);
    const isModule = value instanceof Module;
    if (isModule) {
      found.add(value);
    }
    if (Array.isArray(value)) {
      queue.push(...value);
    } else if (value instanceof Map) {
      for (const [key, child] of value) if (addressable(key)) queue.push(child);
    } else if (isModule || ((prototype === Object.prototype || prototype === null) && !isTensorLike(value))) {
      for (const [key, child] of Object.entries(value)) if (addressable(key)) queue.push(child);
    }
  }
  return found;
}

describe('namedModules and getSubmodule on random module graphs', () => {
  it('yields each reachable module exactly once, under a path getSubmodule resolves to it', () => {
    fc.assert(
      fc.property(GRAPH, (graph) => {
        const { root } = buildGraph(graph);
        const entries = [...namedModules(root)];
        const yielded = entries.map(([, module]) => module);
        expect(new Set(yielded).size).toBe(yielded.length);
        expect(new Set(yielded)).toEqual(reachableModules(root));
        expect(entries[0]).toEqual(['', root]);
        for (const [path, module] of entries) {
          expect(getSubmodule(root, path)).toBe(module);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('puts each yielded module before the modules below it (depth-first, parents first)', () => {
    fc.assert(
      fc.property(GRAPH, (graph) => {
        const { root } = buildGraph(graph);
        const seen: string[] = [];
        for (const [path] of namedModules(root)) {
          // The nearest yielded ancestor path must be the path of some earlier module.
          const segments = path.split('.');
          for (let length = segments.length - 1; length >= 1; length -= 1) {
            const ancestor = segments.slice(0, length).join('.');
            if (Module.isModule(getSubmodule(root, ancestor))) {
              expect(seen).toContain(ancestor);
              break;
            }
          }
          seen.push(path);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('round-trips setSubmodule then getSubmodule at every yielded path', () => {
    fc.assert(
      fc.property(GRAPH, (graph) => {
        const paths = [...namedModules(buildGraph(graph).root, { includeRoot: false })].map(([path]) => path);
        for (const path of paths) {
          // A fresh graph per path: replacing a module removes the paths below it.
          const { root } = buildGraph(graph);
          const replacement = new Block();
          setSubmodule(root, path, replacement);
          expect(getSubmodule(root, path)).toBe(replacement);
          expect([...namedModules(root)].some(([, module]) => module === replacement)).toBe(true);
        }
      }),
      { numRuns: 200 },
    );
  });
});
