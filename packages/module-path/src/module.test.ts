import { describe, expect, it } from 'vitest';
import { Module } from './module';

class Linear extends Module {
  weight = { dtype: 'float32', shape: [1], data: new Float32Array(1) };
}

class RenamedAttention extends Module {
  override get moduleType(): string {
    return 'GPT2Attention';
  }
}

describe('Module', () => {
  it('recognises its subclasses', () => {
    expect(Module.isModule(new Module())).toBe(true);
    expect(Module.isModule(new Linear())).toBe(true);
  });

  it('rejects everything that is not a module', () => {
    for (const value of [
      null,
      undefined,
      0,
      'Module',
      true,
      1n,
      Symbol('m'),
      {},
      [],
      new Map(),
      () => 1,
      Module,
    ]) {
      expect(Module.isModule(value)).toBe(false);
    }
  });

  it('does not treat a spread copy of a module as a module', () => {
    const copy = { ...new Linear() };
    expect(Module.isModule(copy)).toBe(false);
    expect(Object.keys(copy)).toEqual(['weight']);
  });

  it('keeps the marker off the instance, so it never shows up among properties', () => {
    expect(Object.keys(new Module())).toEqual([]);
    expect(Object.getOwnPropertySymbols(new Linear())).toEqual([]);
    expect(Object.getOwnPropertyNames(new Linear())).toEqual(['weight']);
  });

  it('recognises modules from another copy of the package by their Symbol.for marker', () => {
    class ForeignModule {
      get [Symbol.for('ptq.module')](): true {
        return true;
      }
    }
    expect(Module.isModule(new ForeignModule())).toBe(true);
    expect(Module.isModule({ [Symbol.for('ptq.module')]: 'yes' })).toBe(false);
    expect(Module.isModule({ [Symbol('ptq.module')]: true })).toBe(false);
  });

  it('names its type after the constructor unless a subclass says otherwise', () => {
    expect(new Module().moduleType).toBe('Module');
    expect(new Linear().moduleType).toBe('Linear');
    expect(new RenamedAttention().moduleType).toBe('GPT2Attention');
  });
});
