import { GraphBuilder } from '@ptq/onnx-format';
import { describe, expect, it } from 'vitest';
import { Linear } from '../modules/linear';
import { appendLinear, innerSplitParts } from './append-linear';
import { GraphContext } from './graph-context';

describe('innerSplitParts', () => {
  it.each<[number, number, number]>([
    // GPT-2 small / medium / large / xl mlp.c_proj: parts about 384 long.
    [3072, 768, 8],
    [4096, 1024, 8],
    [5120, 1280, 8],
    [6400, 1600, 16],
    [2048, 512, 4],
    // A power of two that divides the inner dimension.
    [2050, 512, 2],
    [2049, 512, 1],
    // Short inner dimensions, or not more than twice the output, stay whole.
    [768, 768, 1],
    [768, 3072, 1],
    [768, 50257, 1],
    [1536, 384, 1],
    [4096, 4096, 1],
    [4096, 2049, 1],
  ])('in %i, out %i: %i parts', (inFeatures, outFeatures, parts) => {
    expect(innerSplitParts(inFeatures, outFeatures)).toBe(parts);
  });
});

describe('appendLinear splitInner', () => {
  const linear = () => new Linear(8, 4, { bias: true });
  const append = (splitInner: number, bias: 'add' | 'fused') => {
    const builder = new GraphBuilder({ name: 'split' });
    const context = new GraphContext(builder, 'float32');
    const x = builder.input('x', 'float32', [1, 8]);
    return appendLinear(context, 'layer', linear(), x, {
      weightFormat: undefined,
      applyPreQuantScale: true,
      bias,
      splitInner,
    });
  };

  it('refuses parts that do not divide the inputs, and a fused bias', () => {
    expect(() => append(3, 'add')).toThrow(
      /layer: must be a whole number of parts dividing the 8 inputs, got 3/,
    );
    expect(() => append(2, 'fused')).toThrow(/layer: a split product cannot take a fused bias/);
    expect(() => append(2, 'add')).not.toThrow();
  });
});
