import { describe, expect, it } from 'vitest';
import { heldTensor, isReloadableTensor, ReloadableTensor, releaseTensor } from './reloadable-tensor';
import { createTensor } from './tensor';

describe('ReloadableTensor', () => {
  it('loads on the first read, keeps the data until released, then loads again', () => {
    let loads = 0;
    const tensor = new ReloadableTensor('float32', [2, 3], () => {
      loads++;
      return Float32Array.from({ length: 6 }, (_, index) => index * loads);
    });
    expect(loads).toBe(0);
    expect(tensor.resident).toBe(false);
    const first = tensor.data;
    expect(tensor.data).toBe(first);
    expect(loads).toBe(1);
    expect([...first]).toEqual([0, 1, 2, 3, 4, 5]);
    expect(tensor.resident).toBe(true);
    tensor.release();
    expect(tensor.resident).toBe(false);
    expect([...tensor.data]).toEqual([0, 2, 4, 6, 8, 10]);
    expect(loads).toBe(2);
  });

  it('refuses a load of the wrong type or length', () => {
    expect(() => new ReloadableTensor('float32', [2, 3], () => new Float32Array(5)).data).toThrow(
      /Float32Array of 5 elements for a float32 tensor of shape \[2, 3\]/,
    );
    const wrongType = new ReloadableTensor(
      'float32',
      [2],
      () => new Uint16Array(2) as unknown as Float32Array,
    );
    expect(() => wrongType.data).toThrow(/Uint16Array/);
    expect(() => new ReloadableTensor('float32', [-1], () => new Float32Array(0))).toThrow(/non-negative/);
  });

  it('releaseTensor releases reloadable tensors and leaves others alone', () => {
    const reloadable = new ReloadableTensor('int8', [4], () => new Int8Array(4));
    void reloadable.data;
    releaseTensor(reloadable);
    expect(reloadable.resident).toBe(false);
    const held = createTensor('int8', [4]);
    releaseTensor(held);
    releaseTensor(undefined);
    expect(held.data).toHaveLength(4);
    expect(isReloadableTensor(reloadable)).toBe(true);
    expect(isReloadableTensor(held)).toBe(false);
  });
});

describe('ReloadableTensor.hold', () => {
  it('holds data made elsewhere until released, and checks it', () => {
    let loads = 0;
    const tensor = new ReloadableTensor('float32', [2], () => {
      loads++;
      return Float32Array.of(1, 2);
    });
    const held = Float32Array.of(1, 2);
    tensor.hold(held);
    expect(tensor.data).toBe(held);
    expect(loads).toBe(0);
    tensor.release();
    expect([...tensor.data]).toEqual([1, 2]);
    expect(loads).toBe(1);
    expect(() => tensor.hold(new Float32Array(3))).toThrow(/Float32Array of 3 elements/);
  });
});

describe('heldTensor', () => {
  it('keeps a reloadable tensor’s data past its release, and returns other tensors as they are', () => {
    let loads = 0;
    const reloadable = new ReloadableTensor('float32', [2], () => {
      loads++;
      return Float32Array.of(3, 4);
    });
    const held = heldTensor(reloadable);
    expect(held).not.toBeInstanceOf(ReloadableTensor);
    expect(held.data).toBe(reloadable.data);
    reloadable.release();
    expect([...held.data]).toEqual([3, 4]);
    expect(loads).toBe(1);
    const plain = createTensor('int8', [1]);
    expect(heldTensor(plain)).toBe(plain);
  });
});
