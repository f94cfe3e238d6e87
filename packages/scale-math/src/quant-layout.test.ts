import { InvalidArgumentError } from '@ptq/errors';
import { describe, expect, it } from 'vitest';
import { forEachRun, planLayout, scaleShapeOf } from './quant-layout';

describe('scaleShapeOf', () => {
  it.each([
    [[2304, 768], { kind: 'per-tensor' }, []],
    [[2304, 768], { kind: 'per-channel', axis: 0 }, [2304]],
    [[2304, 768], { kind: 'per-channel', axis: -1 }, [768]],
    [[2304, 768], { kind: 'block', blockSize: 128 }, [2304, 6]],
    [[768, 3072], { kind: 'block', blockSize: 128 }, [768, 24]],
    [[2, 3, 1600], { kind: 'block', blockSize: 128 }, [2, 3, 13]],
    [[5], { kind: 'block', blockSize: 8 }, [1]],
    [[], { kind: 'per-tensor' }, []],
  ] as const)('%j with %j needs scales %j', (shape, layout, expected) => {
    expect(scaleShapeOf(shape, layout)).toEqual(expected);
  });

  it('rejects bad shapes', () => {
    expect(() => scaleShapeOf([2, -1], { kind: 'per-tensor' })).toThrow(InvalidArgumentError);
    expect(() => scaleShapeOf([], { kind: 'per-channel', axis: 0 })).toThrow(/axis.*\[0, -1\]/);
  });
});

describe('forEachRun', () => {
  function runs(shape: number[], layout: Parameters<typeof planLayout>[1]): number[][] {
    const count = shape.reduce((product, dimension) => product * dimension, 1);
    const visited: number[][] = [];
    forEachRun(planLayout(shape, layout, count), (start, end, scaleIndex) =>
      visited.push([start, end, scaleIndex]),
    );
    return visited;
  }

  it('covers every element once, in memory order, with the right scale', () => {
    expect(runs([2, 3], { kind: 'per-tensor' })).toEqual([[0, 6, 0]]);
    expect(runs([2, 3], { kind: 'per-channel', axis: 0 })).toEqual([
      [0, 3, 0],
      [3, 6, 1],
    ]);
    expect(runs([2, 2, 2], { kind: 'per-channel', axis: 1 })).toEqual([
      [0, 2, 0],
      [2, 4, 1],
      [4, 6, 0],
      [6, 8, 1],
    ]);
    expect(runs([2, 5], { kind: 'block', blockSize: 2 })).toEqual([
      [0, 2, 0],
      [2, 4, 1],
      [4, 5, 2],
      [5, 7, 3],
      [7, 9, 4],
      [9, 10, 5],
    ]);
  });
});
