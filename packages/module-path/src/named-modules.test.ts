import { describe, expect, it } from 'vitest';
import { Conv1D, Dropout, GPT2LMHeadModel, tensor } from './__fixtures__/gpt2-tree';
import { getSubmodule } from './get-submodule';
import { Module } from './module';
import { namedChildren, namedModules } from './named-modules';
import { setSubmodule } from './set-submodule';

class Node extends Module {
  [name: string]: unknown;
}

function node(fields: Record<string, unknown> = {}): Node {
  return Object.assign(new Node(), fields);
}

function blockPaths(prefix: string): string[] {
  return [
    prefix,
    `${prefix}.ln_1`,
    `${prefix}.attn`,
    `${prefix}.attn.c_attn`,
    `${prefix}.attn.c_proj`,
    `${prefix}.attn.attn_dropout`,
    `${prefix}.attn.resid_dropout`,
    `${prefix}.ln_2`,
    `${prefix}.mlp`,
    `${prefix}.mlp.c_fc`,
    `${prefix}.mlp.c_proj`,
    `${prefix}.mlp.act`,
    `${prefix}.mlp.dropout`,
  ];
}

// PyTorch's named_modules() order for GPT2LMHeadModel, written out by hand, without the
// ModuleList entry "transformer.h" (here a plain array, which is a container, not a module).
const GPT2_PATHS = [
  '',
  'transformer',
  'transformer.wte',
  'transformer.wpe',
  'transformer.drop',
  ...blockPaths('transformer.h.0'),
  ...blockPaths('transformer.h.1'),
  'transformer.ln_f',
  'transformer.experts.gate',
  'transformer.experts.up',
  'transformer.experts.down',
  'lm_head',
];

function paths(entries: Iterable<[string, Module]>): string[] {
  return [...entries].map(([path]) => path);
}

describe('namedModules', () => {
  it('walks a GPT-2 tree depth-first in insertion order, like PyTorch', () => {
    const model = new GPT2LMHeadModel();
    const entries = [...namedModules(model)];
    expect(entries.map(([path]) => path)).toEqual(GPT2_PATHS);
    expect(entries).toHaveLength(5 + 2 * 13 + 5);
    for (const [path, module] of entries) {
      expect(getSubmodule(model, path)).toBe(module);
    }
    expect(entries[0]?.[1]).toBe(model);
  });

  it('leaves the root out with includeRoot: false and prefixes paths with prefix', () => {
    const model = new GPT2LMHeadModel();
    expect(paths(namedModules(model, { includeRoot: false }))).toEqual(GPT2_PATHS.slice(1));
    const prefixed = paths(namedModules(model, { prefix: 'model' }));
    expect(prefixed.slice(0, 3)).toEqual(['model', 'model.transformer', 'model.transformer.wte']);
    expect(prefixed).toEqual(GPT2_PATHS.map((path) => (path === '' ? 'model' : `model.${path}`)));
  });

  it('yields a tied module once, under the first path', () => {
    const model = new GPT2LMHeadModel();
    const shared = model.transformer.h[0]!.attn.c_proj;
    model.transformer.h[1]!.attn.c_proj = shared;
    const entries = [...namedModules(model)];
    const found = entries.filter(([, module]) => module === shared).map(([path]) => path);
    expect(found).toEqual(['transformer.h.0.attn.c_proj']);
    expect(entries.map(([path]) => path)).toEqual(
      GPT2_PATHS.filter((path) => path !== 'transformer.h.1.attn.c_proj'),
    );
  });

  it('takes the first path in depth-first order, not the shortest', () => {
    const shared = node();
    const root = node({ first: node({ deep: node({ shared }) }), shared });
    expect(paths(namedModules(root))).toEqual(['', 'first', 'first.deep', 'first.deep.shared']);
  });

  it('survives cycles, never yielding the root twice', () => {
    const root = node();
    const child = node({ parent: root });
    root.child = child;
    root.self = root;
    const record: Record<string, unknown> = { child };
    record.again = record;
    root.record = record;
    expect(paths(namedModules(root))).toEqual(['', 'child']);
    expect(paths(namedModules(root, { includeRoot: false }))).toEqual(['child']);
  });

  it('walks plain and null-prototype records as containers, but not the containers themselves', () => {
    const inner = node();
    const nullRecord = Object.assign(Object.create(null) as Record<string, unknown>, { inner });
    const root = node({ blocks: { first: node(), list: [node()] }, nullRecord });
    expect(paths(namedModules(root))).toEqual(['', 'blocks.first', 'blocks.list.0', 'nullRecord.inner']);
  });

  it('does not enter tensors, typed arrays, functions, sets or other class instances', () => {
    class InferenceSession {
      model = node();
    }
    const inFunction = Object.assign(() => 0, { hidden: node() });
    const root = node({
      weight: tensor(2, 2),
      tensorWithExtra: { dtype: 'float32', shape: [1], data: new Float32Array(1), hidden: node() },
      buffer: new Float32Array(4),
      inFunction,
      session: new InferenceSession(),
      set: new Set([node()]),
      date: new Date(0),
      visible: node(),
    });
    expect(paths(namedModules(root))).toEqual(['', 'visible']);
  });

  it('skips names getSubmodule could not address: dotted, empty and non-string keys', () => {
    const root = node({
      'a.b': node(),
      '': node(),
      map: new Map<unknown, unknown>([
        [0, node()],
        ['x.y', node()],
        ['', node()],
        ['ok', node()],
      ]),
    });
    expect(paths(namedModules(root))).toEqual(['', 'map.ok']);
  });

  it('skips list holes and walks nested lists', () => {
    const sparse: unknown[] = [];
    sparse[0] = node();
    sparse[2] = [node(), null, 3];
    expect(paths(namedModules(node({ sparse })))).toEqual(['', 'sparse.0', 'sparse.2.0']);
  });

  it('walks a non-module root as a container without yielding it', () => {
    const list = [node(), node({ child: node() })];
    expect(paths(namedModules(list))).toEqual(['0', '1', '1.child']);
    expect(paths(namedModules(new Map([['gate', node()]])))).toEqual(['gate']);
    expect(paths(namedModules(tensor(1)))).toEqual([]);
  });

  it('yields a Map-based module (ModuleDict) and then its entries', () => {
    class ModuleDict extends Map<string, Module> {
      get [Symbol.for('ptq.module')](): true {
        return true;
      }
    }
    const root = node({ experts: new ModuleDict([['gate', node()]]) });
    expect(paths(namedModules(root))).toEqual(['', 'experts', 'experts.gate']);
  });

  it('lets the caller replace each module as it is yielded', () => {
    class QuantConv1D extends Module {}
    const model = new GPT2LMHeadModel();
    const replaced: string[] = [];
    for (const [path, module] of namedModules(model)) {
      if (module instanceof Conv1D) {
        setSubmodule(model, path, new QuantConv1D());
        replaced.push(path);
      }
    }
    expect(replaced).toEqual(GPT2_PATHS.filter((path) => /c_attn|c_proj|c_fc|experts\./.test(path)));
    const after = [...namedModules(model)];
    expect(after.map(([path]) => path)).toEqual(GPT2_PATHS);
    expect(after.filter(([, module]) => module instanceof Conv1D)).toEqual([]);
    expect(after.filter(([, module]) => module instanceof QuantConv1D)).toHaveLength(replaced.length);
  });

  it('is lazy: a subtree is read only when the walk reaches it', () => {
    const later = node();
    Object.defineProperty(later, 'exploding', {
      enumerable: true,
      get: () => {
        throw new Error('read too early');
      },
    });
    const iterator = namedModules(node({ first: node(), later }));
    expect(iterator.next().value?.[0]).toBe('');
    expect(iterator.next().value?.[0]).toBe('first');
    expect(iterator.next().value?.[0]).toBe('later');
    expect(() => iterator.next()).toThrow('read too early');
  });
});

describe('namedChildren', () => {
  it('yields the nearest modules, looking through lists and Maps', () => {
    const model = new GPT2LMHeadModel();
    expect(paths(namedChildren(model))).toEqual(['transformer', 'lm_head']);
    expect(paths(namedChildren(model.transformer))).toEqual([
      'wte',
      'wpe',
      'drop',
      'h.0',
      'h.1',
      'ln_f',
      'experts.gate',
      'experts.up',
      'experts.down',
    ]);
    expect(paths(namedChildren(model.transformer.drop))).toEqual([]);
    for (const [path, child] of namedChildren(model.transformer)) {
      expect(getSubmodule(model.transformer, path)).toBe(child);
    }
  });

  it('yields each child once and never the module itself', () => {
    const shared = new Dropout();
    const root = node({ a: shared, list: [shared, node()] });
    root.self = root;
    expect(paths(namedChildren(root))).toEqual(['a', 'list.1']);
  });

  it('accepts a container and yields nothing for a leaf', () => {
    expect(paths(namedChildren([node(), { inner: node() }]))).toEqual(['0', '1.inner']);
    expect(paths(namedChildren(tensor(1)))).toEqual([]);
  });
});
