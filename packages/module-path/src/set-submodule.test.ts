import { InvalidArgumentError } from '@ptq/errors';
import { describe, expect, it } from 'vitest';
import { Conv1D, Dropout, GPT2Block, GPT2LMHeadModel, tensor } from './__fixtures__/gpt2-tree';
import { getSubmodule } from './get-submodule';
import { Module } from './module';
import { ModulePathError } from './module-path-error';
import { setSubmodule } from './set-submodule';

class QuantConv1D extends Module {}

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

describe('setSubmodule', () => {
  it('replaces an attribute, and getSubmodule then returns the replacement', () => {
    const model = new GPT2LMHeadModel();
    const replacement = new QuantConv1D();
    setSubmodule(model, 'transformer.h.0.attn.c_attn', replacement);
    expect(model.transformer.h[0]?.attn.c_attn).toBe(replacement);
    expect(getSubmodule(model, 'transformer.h.0.attn.c_attn')).toBe(replacement);
    // Its siblings stay as they were.
    expect(getSubmodule(model, 'transformer.h.1.attn.c_attn')).toBeInstanceOf(Conv1D);
  });

  it('replaces a list item in range', () => {
    const model = new GPT2LMHeadModel();
    const block = new GPT2Block(4);
    setSubmodule(model, 'transformer.h.1', block);
    expect(model.transformer.h).toHaveLength(2);
    expect(getSubmodule(model, 'transformer.h.1')).toBe(block);
  });

  it('replaces an existing Map key in place', () => {
    const model = new GPT2LMHeadModel();
    const replacement = new QuantConv1D();
    setSubmodule(model, 'transformer.experts.up', replacement);
    expect(getSubmodule(model, 'transformer.experts.up')).toBe(replacement);
    expect([...model.transformer.experts.keys()]).toEqual(['gate', 'up', 'down']);
  });

  it('replaces attributes that hold tensors or null', () => {
    const model = new GPT2LMHeadModel();
    const bias = tensor(10);
    setSubmodule(model, 'lm_head.bias', bias);
    expect(model.lm_head.bias).toBe(bias);
  });

  it('refuses new Map keys and attributes unless asked to create them', () => {
    const model = new GPT2LMHeadModel();
    expect(pathError(() => setSubmodule(model, 'transformer.experts.extra', new Dropout())).message).toBe(
      '"transformer.experts.extra": the Map at "transformer.experts" has no key "extra" ' +
        '(available: down, gate, up; pass { create: true } to add it)',
    );
    expect(pathError(() => setSubmodule(model, 'transformer.h.0.attn.q_proj', new Dropout())).message).toBe(
      '"transformer.h.0.attn.q_proj": the GPT2Attention at "transformer.h.0.attn" has no attribute "q_proj" ' +
        '(available: attn_dropout, c_attn, c_proj, resid_dropout; did you mean "c_proj"?; ' +
        'pass { create: true } to add it)',
    );
  });

  it('adds Map keys and own enumerable attributes with { create: true }', () => {
    const model = new GPT2LMHeadModel();
    const extra = new Dropout();
    const projection = new Dropout();
    setSubmodule(model, 'transformer.experts.extra', extra, { create: true });
    setSubmodule(model, 'transformer.h.0.attn.q_proj', projection, { create: true });
    expect([...model.transformer.experts.keys()]).toEqual(['gate', 'up', 'down', 'extra']);
    expect(getSubmodule(model, 'transformer.experts.extra')).toBe(extra);
    expect(getSubmodule(model, 'transformer.h.0.attn.q_proj')).toBe(projection);
    expect(Object.keys(model.transformer.h[0]?.attn ?? {}).at(-1)).toBe('q_proj');
  });

  it('never grows a list, even with { create: true }', () => {
    const model = new GPT2LMHeadModel();
    expect(
      pathError(() => setSubmodule(model, 'transformer.h.2', new GPT2Block(4), { create: true })).message,
    ).toBe('"transformer.h.2": index 2 is out of range for a list of 2 modules (valid: 0..1)');
    expect(pathError(() => setSubmodule(model, 'transformer.h.01', new GPT2Block(4))).message).toBe(
      '"transformer.h.01": "01" is not an index into the list at "transformer.h" (expected a non-negative ' +
        'integer written without sign, spaces or leading zeros; valid: 0..1)',
    );
  });

  it('names the full path when a parent segment does not resolve, without the create hint', () => {
    const model = new GPT2LMHeadModel();
    const error = pathError(() =>
      setSubmodule(model, 'transformer.hh.0', new GPT2Block(4), { create: true }),
    );
    expect(error.segment).toBe('hh');
    expect(error.message).toBe(
      '"transformer.hh.0": the GPT2Model at "transformer" has no attribute "hh" ' +
        '(available: drop, experts, h, ln_f, wpe, wte; did you mean "h"?)',
    );
  });

  it('refuses to set inside a leaf', () => {
    const model = new GPT2LMHeadModel();
    expect(pathError(() => setSubmodule(model, 'lm_head.weight.data', new Float32Array(1))).message).toBe(
      '"lm_head.weight.data": cannot set "data" in "lm_head.weight", which is a float32 tensor of shape [10, 4]',
    );
    expect(pathError(() => setSubmodule(model, 'config.n_layer.value', 3)).message).toBe(
      '"config.n_layer.value": cannot set "value" in "config.n_layer", which is the number 2',
    );
  });

  it('refuses to overwrite a method', () => {
    const model = new GPT2LMHeadModel();
    expect(pathError(() => setSubmodule(model, 'transformer.h.0.attn.forward', new Dropout())).message).toBe(
      '"transformer.h.0.attn.forward": "forward" on the GPT2Attention at "transformer.h.0.attn" is the ' +
        'function forward, not a submodule',
    );
  });

  it('refuses to replace the root', () => {
    expect(pathError(() => setSubmodule(new GPT2LMHeadModel(), '', new Dropout())).message).toBe(
      '"": the root cannot be replaced; give the path of a submodule such as "transformer.h.0"',
    );
  });

  it('refuses a function as the value', () => {
    const model = new GPT2LMHeadModel();
    function replacement(): void {}
    expect(() => setSubmodule(model, 'lm_head', replacement)).toThrow(InvalidArgumentError);
    expect(() => setSubmodule(model, 'lm_head', replacement)).toThrow(
      'Invalid argument "value": cannot put the function replacement at "lm_head": functions are not submodules',
    );
    expect(Module.isModule(model.lm_head)).toBe(true);
  });

  it('rejects empty segments', () => {
    expect(pathError(() => setSubmodule(new GPT2LMHeadModel(), 'lm_head.', new Dropout())).message).toMatch(
      /^"lm_head\.": segment 2 of 2 is empty;/,
    );
  });

  it('reports read-only targets instead of failing silently', () => {
    expect(
      pathError(() => setSubmodule(Object.freeze({ layer: new Dropout() }), 'layer', new Dropout())).message,
    ).toBe('"layer": "layer" on the object at the root is read-only');
    const frozenList = Object.freeze([new Dropout()]);
    expect(pathError(() => setSubmodule({ layers: frozenList }, 'layers.0', new Dropout())).message).toBe(
      '"layers.0": "0" on the list at "layers" is read-only',
    );
    class Wrapper extends Module {
      get head(): Dropout {
        return new Dropout();
      }
    }
    expect(pathError(() => setSubmodule(new Wrapper(), 'head', new Dropout())).message).toBe(
      '"head": "head" on the Wrapper at the root is read-only',
    );
    expect(
      pathError(() => setSubmodule(Object.preventExtensions({}), 'extra', new Dropout(), { create: true }))
        .message,
    ).toBe('"extra": cannot add "extra" to the object at the root: it is not extensible');
  });

  it('calls setters, as attribute assignment would', () => {
    class Wrapper extends Module {
      #head = new Dropout();
      get head(): Dropout {
        return this.#head;
      }
      set head(value: Dropout) {
        this.#head = value;
      }
    }
    const wrapper = new Wrapper();
    const replacement = new Dropout();
    setSubmodule(wrapper, 'head', replacement);
    expect(wrapper.head).toBe(replacement);
  });

  it('adds "__proto__" as a property, never as a new prototype', () => {
    const root: Record<string, unknown> = {};
    const layer = new Dropout();
    expect(pathError(() => setSubmodule(root, '__proto__', layer)).message).toBe(
      '"__proto__": the object at the root has no attribute "__proto__" (available: none; pass { create: true } to add it)',
    );
    setSubmodule(root, '__proto__', layer, { create: true });
    expect(Object.getPrototypeOf(root)).toBe(Object.prototype);
    expect(Object.keys(root)).toEqual(['__proto__']);
    expect(getSubmodule(root, '__proto__')).toBe(layer);
  });
});
