import { buildGptGraph, GPT, initializeWeights, type ModelDType } from '@ptq/nanogpt';
import type { ModelDefinition } from '@ptq/onnx-format';
import { createTensor } from '@ptq/tensor';
import { describe, expect, it } from 'vitest';
import { float8ActivationsToQdq } from './float8-activations-to-qdq';

function tinyFloat8(dtype: ModelDType): GPT {
  const gpt = new GPT({
    numLayers: 1,
    numHeads: 2,
    embeddingSize: 32,
    vocabSize: 40,
    blockSize: 16,
    dtype,
    quantMode: 'float8',
  });
  initializeWeights(gpt, { seed: 3, std: 0.2 });
  return gpt;
}

function opCount(model: ModelDefinition, opType: string): number {
  return model.graph.nodes.filter((node) => node.opType === opType).length;
}

describe('float8ActivationsToQdq', () => {
  it('replaces each float8 input fake quantization by QuantizeLinear → DequantizeLinear with its scale', () => {
    const gpt = tinyFloat8('float32');
    const inputScale = gpt.transformer.h[0]!.attn.c_proj.input_scale!.data[0]!;
    const graph = buildGptGraph(gpt, { weightFormat: 'dequantize-linear' });
    expect(opCount(graph, 'Clip')).toBe(5);
    const rewritten = float8ActivationsToQdq(graph);
    // c_attn, c_proj, c_fc, mlp.c_proj, lm_head.
    expect(opCount(rewritten, 'QuantizeLinear')).toBe(5);
    expect(opCount(rewritten, 'DequantizeLinear')).toBe(10);
    // Everything the fake quantizations were made of is gone.
    for (const opType of ['Clip', 'Abs', 'Less']) expect(opCount(rewritten, opType)).toBe(0);
    const initializers = new Map(
      rewritten.graph.initializers.map((initializer) => [initializer.name, initializer.tensor]),
    );
    const scales = rewritten.graph.nodes
      .filter((node) => node.opType === 'QuantizeLinear')
      .map((node) => initializers.get(node.inputs[1]!)!.data[0]);
    expect(scales).toContain(inputScale);
    // Every value a node reads is defined before it: the rewrite kept the topological order.
    const defined = new Set([...rewritten.graph.inputs.map((input) => input.name), ...initializers.keys()]);
    for (const node of rewritten.graph.nodes) {
      for (const input of node.inputs) if (input !== '') expect(defined.has(input)).toBe(true);
      for (const output of node.outputs) defined.add(output);
    }
  });

  it('rewrites the float32 fake quantization inside the Casts of a float16 model', () => {
    const rewritten = float8ActivationsToQdq(
      buildGptGraph(tinyFloat8('float16'), { weightFormat: 'dequantize-linear' }),
    );
    expect(opCount(rewritten, 'QuantizeLinear')).toBe(5);
    expect(opCount(rewritten, 'Log')).toBe(0);
  });

  it('keeps the multiply by zero of a linear whose input scale is 0', () => {
    const gpt = tinyFloat8('float32');
    gpt.transformer.h[0]!.mlp.c_fc.input_scale = createTensor('float32', [], Float32Array.of(0));
    const rewritten = float8ActivationsToQdq(buildGptGraph(gpt, { weightFormat: 'dequantize-linear' }));
    expect(opCount(rewritten, 'QuantizeLinear')).toBe(4);
  });

  it('leaves graphs without float8 weights as they are', () => {
    const gpt = new GPT({
      numLayers: 1,
      numHeads: 2,
      embeddingSize: 128,
      vocabSize: 40,
      blockSize: 16,
      quantMode: 'int8-weight-only',
    });
    initializeWeights(gpt, { seed: 1 });
    const graph = buildGptGraph(gpt, { weightFormat: 'dequantize-linear' });
    expect(float8ActivationsToQdq(graph)).toBe(graph);
  });
});
