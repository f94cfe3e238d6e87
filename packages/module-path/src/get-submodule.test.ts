import { InvalidArgumentError, PtqError } from '@ptq/errors';
import * as fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Conv1D, Dropout, GPT2LMHeadModel, tensor } from './__fixtures__/gpt2-tree';
import { getSubmodule } from './get-submodule';
import { Module } from './module';
import { ModulePathError } from './module-path-error';

function pathError(action: () => unknown): ModulePathError {
  try {
    action();
  } catch (error) {
    if (error instanceof ModulePathError) {
      return error;
    }
    throw error;
  }
  throw new Error('expected a ModulePathError');
}

describe('getSubmodule on a GPT-2-shaped tree', () => {
  const model = new GPT2LMHeadModel();

  it('resolves the seed examples by attribute, list index and Map key', () => {
    expect(getSubmodule(model, 'transformer.h.0.attn.c_attn')).toBe(model.transformer.h[0]?.attn.c_attn);
    expect(getSubmodule(model, 'lm_head')).toBe(model.lm_head);
    expect(getSubmodule(model, 'transformer.experts.gate')).toBe(model.transformer.experts.get('gate'));
    expect(getSubmodule<Conv1D>(model, 'transformer.h.1.mlp.c_proj')).toBeInstanceOf(Conv1D);
    expect(getSubmodule(model, 'transformer.h.1.mlp.c_proj')).toBe(model.transformer.h[1]?.mlp.c_proj);
  });

  it('returns the root for the empty path', () => {
    expect(getSubmodule(model, '')).toBe(model);
  });

  it('returns non-module attributes at the end of a path', () => {
    expect(getSubmodule(model, 'lm_head.weight')).toBe(model.transformer.wte.weight);
    expect(getSubmodule(model, 'transformer.h.0.attn.c_attn.weight')).toEqual(tensor(4, 12));
    expect(getSubmodule(model, 'config.n_layer')).toBe(2);
    expect(getSubmodule(model, 'lm_head.bias')).toBeNull();
    // Inherited getters resolve like attributes.
    expect(getSubmodule(model, 'transformer.h.0.moduleType')).toBe('GPT2Block');
  });

  it('says which index is out of range and what the valid range is', () => {
    const twelve = new GPT2LMHeadModel(12);
    const error = pathError(() => getSubmodule(twelve, 'transformer.h.12.attn'));
    expect(error.message).toBe(
      '"transformer.h.12.attn": index 12 is out of range for a list of 12 modules (valid: 0..11)',
    );
    expect(error.code).toBe('PTQ_MODULE_PATH');
    expect(error.path).toBe('transformer.h.12.attn');
    expect(error.segment).toBe('12');
    expect(error).toBeInstanceOf(PtqError);
    expect(PtqError.isInstance(error)).toBe(true);
    expect(getSubmodule(twelve, 'transformer.h.11')).toBe(twelve.transformer.h[11]);
  });

  it('words the range for one-module and empty lists', () => {
    expect(pathError(() => getSubmodule({ layers: [new Dropout()] }, 'layers.1')).message).toBe(
      '"layers.1": index 1 is out of range for a list of 1 module (valid: 0..0)',
    );
    expect(pathError(() => getSubmodule({ layers: [] }, 'layers.0')).message).toBe(
      '"layers.0": index 0 is out of range for an empty list',
    );
    expect(pathError(() => getSubmodule({ layers: [] }, 'layers.first')).message).toBe(
      '"layers.first": "first" is not an index into the list at "layers" (expected a non-negative integer ' +
        'written without sign, spaces or leading zeros; the list is empty)',
    );
  });

  it.each(['00', '01', '-1', '-0', '+1', ' 1', '1 ', '1e0', '0x1', 'first', 'Infinity', 'length'])(
    'refuses the non-canonical list index %j',
    (segment) => {
      const path = `transformer.h.${segment}.attn`;
      const error = pathError(() => getSubmodule(model, path));
      expect(error.segment).toBe(segment);
      expect(error.message).toBe(
        `"${path}": "${segment}" is not an index into the list at "transformer.h" (expected a non-negative ` +
          'integer written without sign, spaces or leading zeros; valid: 0..1)',
      );
    },
  );

  it('reads "1.5" as two segments: index 1, then an attribute "5"', () => {
    expect(pathError(() => getSubmodule(model, 'transformer.h.1.5')).message).toBe(
      '"transformer.h.1.5": the GPT2Block at "transformer.h.1" has no attribute "5" ' +
        '(available: attn, ln_1, ln_2, mlp)',
    );
  });

  it('lists the attributes available and suggests a close one', () => {
    expect(pathError(() => getSubmodule(model, 'transformer.hh.0')).message).toBe(
      '"transformer.hh.0": the GPT2Model at "transformer" has no attribute "hh" ' +
        '(available: drop, experts, h, ln_f, wpe, wte; did you mean "h"?)',
    );
    expect(pathError(() => getSubmodule(model, 'lm_haed')).message).toBe(
      '"lm_haed": the GPT2LMHeadModel at the root has no attribute "lm_haed" ' +
        '(available: config, lm_head, transformer; did you mean "lm_head"?)',
    );
    expect(pathError(() => getSubmodule(model, 'transformer.h.0.attn.c_attn.wieght')).message).toBe(
      '"transformer.h.0.attn.c_attn.wieght": the Conv1D at "transformer.h.0.attn.c_attn" has no attribute ' +
        '"wieght" (available: bias, weight; did you mean "weight"?)',
    );
  });

  it('gives no suggestion when no name is close', () => {
    const error = pathError(() => getSubmodule(model, 'transformer.decoder.layers'));
    expect(error.segment).toBe('decoder');
    expect(error.message).toBe(
      '"transformer.decoder.layers": the GPT2Model at "transformer" has no attribute "decoder" ' +
        '(available: drop, experts, h, ln_f, wpe, wte)',
    );
  });

  it('says when a module has no object-valued attributes at all', () => {
    expect(pathError(() => getSubmodule(model, 'transformer.drop.weight')).message).toBe(
      '"transformer.drop.weight": the Dropout at "transformer.drop" has no attribute "weight" (available: none)',
    );
  });

  it('lists the keys of a Map container and suggests a close one', () => {
    expect(pathError(() => getSubmodule(model, 'transformer.experts.gat')).message).toBe(
      '"transformer.experts.gat": the Map at "transformer.experts" has no key "gat" ' +
        '(available: down, gate, up; did you mean "gate"?)',
    );
    // A Map is indexed by key only: "0" is a key, not a position.
    expect(pathError(() => getSubmodule(model, 'transformer.experts.0')).message).toBe(
      '"transformer.experts.0": the Map at "transformer.experts" has no key "0" (available: down, gate, up)',
    );
  });

  it('cuts long name lists short', () => {
    const record = Object.fromEntries(Array.from({ length: 25 }, (_, index) => [`layer${100 + index}`, {}]));
    const listed = Array.from({ length: 20 }, (_, index) => `layer${100 + index}`).join(', ');
    expect(pathError(() => getSubmodule(record, 'block')).message).toBe(
      `"block": the object at the root has no attribute "block" (available: ${listed}, … 5 more)`,
    );
  });

  it('never resolves what every object inherits from Object.prototype', () => {
    for (const name of ['toString', '__proto__', 'hasOwnProperty', 'valueOf']) {
      expect(pathError(() => getSubmodule(model, name)).message).toBe(
        `"${name}": the GPT2LMHeadModel at the root has no attribute "${name}" ` +
          '(available: config, lm_head, transformer)',
      );
    }
    expect(pathError(() => getSubmodule({ layer: {} }, 'constructor')).message).toBe(
      '"constructor": the object at the root has no attribute "constructor" (available: layer)',
    );
    // A class prototype's own `constructor` is found, and refused as a function.
    expect(pathError(() => getSubmodule(model, 'constructor')).message).toBe(
      '"constructor": "constructor" on the GPT2LMHeadModel at the root is the function GPT2LMHeadModel, ' +
        'not a submodule',
    );
  });

  it('refuses methods', () => {
    expect(pathError(() => getSubmodule(model, 'transformer.h.0.attn.forward')).message).toBe(
      '"transformer.h.0.attn.forward": "forward" on the GPT2Attention at "transformer.h.0.attn" is the ' +
        'function forward, not a submodule',
    );
  });

  it('says what was there when a path goes on through a leaf', () => {
    const cases: Array<[string, string]> = [
      [
        'lm_head.weight.data',
        'cannot look up "data" in "lm_head.weight", which is a float32 tensor of shape [10, 4]',
      ],
      ['config.n_layer.value', 'cannot look up "value" in "config.n_layer", which is the number 2'],
      ['lm_head.bias.shape', 'cannot look up "shape" in "lm_head.bias", which is null'],
      [
        'config.activation_function.length',
        'cannot look up "length" in "config.activation_function", which is the string "gelu_new"',
      ],
      ['transformer.ln_f.eps.x', 'cannot look up "x" in "transformer.ln_f.eps", which is the number 0.00001'],
      [
        'transformer.h.0.ln_1.weight.data.0',
        'cannot look up "data" in "transformer.h.0.ln_1.weight", which is a float32 tensor of shape [4]',
      ],
    ];
    for (const [path, detail] of cases) {
      expect(pathError(() => getSubmodule(model, path)).message).toBe(`"${path}": ${detail}`);
    }
  });

  it('treats typed arrays, undefined and a leaf root as leaves too', () => {
    expect(pathError(() => getSubmodule({ buffer: new Float32Array(3) }, 'buffer.0')).message).toBe(
      '"buffer.0": cannot look up "0" in "buffer", which is a Float32Array of length 3',
    );
    expect(pathError(() => getSubmodule({ missing: undefined }, 'missing.x')).message).toBe(
      '"missing.x": cannot look up "x" in "missing", which is undefined',
    );
    expect(pathError(() => getSubmodule(tensor(2, 3), 'data')).message).toBe(
      '"data": cannot look up "data" in the root, which is a float32 tensor of shape [2, 3]',
    );
  });

  it('rejects empty segments before walking', () => {
    expect(pathError(() => getSubmodule(model, 'transformer..h')).message).toBe(
      '"transformer..h": segment 2 of 3 is empty; a module path is dot-separated names such as ' +
        '"transformer.h.0.attn", with no leading, trailing or doubled dots',
    );
    expect(pathError(() => getSubmodule(model, '.lm_head')).message).toMatch(
      /^"\.lm_head": segment 1 of 2 is empty;/,
    );
    expect(pathError(() => getSubmodule(model, 'lm_head.')).message).toMatch(
      /^"lm_head\.": segment 2 of 2 is empty;/,
    );
  });

  it('rejects a path that is not a string', () => {
    expect(() => getSubmodule(model, undefined as unknown as string)).toThrow(InvalidArgumentError);
  });
});

describe('getSubmodule on other containers', () => {
  it('walks nested lists, Maps with any string keys, records and getters', () => {
    const first = new Dropout();
    const second = new Dropout();
    class Wrapper {
      inner = { blocks: [[first], [new Dropout(), second]] };
      get head(): Dropout {
        return first;
      }
    }
    const root = {
      wrapper: new Wrapper(),
      dictionary: new Map<unknown, unknown>([
        ['expert-0', second],
        [0, first],
      ]),
    };
    expect(getSubmodule(root, 'wrapper.inner.blocks.1.1')).toBe(second);
    expect(getSubmodule(root, 'wrapper.head')).toBe(first);
    expect(getSubmodule(root, 'dictionary.expert-0')).toBe(second);
    // Only string keys are addressable: the number key 0 is not "0".
    expect(pathError(() => getSubmodule(root, 'dictionary.0')).message).toBe(
      '"dictionary.0": the Map at "dictionary" has no key "0" (available: expert-0)',
    );
  });

  it('walks null-prototype records', () => {
    const layer = new Dropout();
    const record = Object.assign(Object.create(null) as Record<string, unknown>, { layer });
    expect(getSubmodule(record, 'layer')).toBe(layer);
  });

  it('indexes a Map-based module (ModuleDict) by key', () => {
    class ModuleDict extends Map<string, Module> {
      get [Symbol.for('ptq.module')](): true {
        return true;
      }
    }
    const gate = new Dropout();
    const dictionary = new ModuleDict([['gate', gate]]);
    expect(Module.isModule(dictionary)).toBe(true);
    expect(getSubmodule({ experts: dictionary }, 'experts.gate')).toBe(gate);
    expect(pathError(() => getSubmodule({ experts: dictionary }, 'experts.size')).message).toBe(
      '"experts.size": the ModuleDict at "experts" has no key "size" (available: gate)',
    );
  });

  it('resolves exactly the canonical in-range indices of a list', () => {
    const segment = fc.oneof(
      fc.nat({ max: 8 }).map(String),
      fc.constantFrom('00', '-0', '+1', ' 1', '1 ', '0x1', '1e0', '01', '١'),
      fc.string({ maxLength: 3 }),
    );
    fc.assert(
      fc.property(fc.nat({ max: 5 }), segment, (length, text) => {
        fc.pre(text !== '' && !text.includes('.'));
        const list = Array.from({ length }, () => new Dropout());
        const number = Number(text);
        // Independent oracle: the segment is the decimal spelling of an integer in range.
        const valid = Number.isInteger(number) && String(number) === text && number >= 0 && number < length;
        if (valid) {
          expect(getSubmodule({ list }, `list.${text}`)).toBe(list[number]);
        } else {
          expect(() => getSubmodule({ list }, `list.${text}`)).toThrow(ModulePathError);
        }
      }),
    );
  });
});
