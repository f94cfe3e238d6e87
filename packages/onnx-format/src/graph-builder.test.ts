import { PtqError } from '@ptq/errors';
import { createTensor, type Tensor } from '@ptq/tensor';
import { describe, expect, it } from 'vitest';
import { OnnxGraphError } from './errors';
import { GraphBuilder } from './graph-builder';
import type { ModelDefinition } from './model-definition';
import { validateModel } from './validate-model';

const weight = createTensor('float32', [2, 2], new Float32Array([1, 2, 3, 4]));

function expectGraphError(action: () => unknown, message: string): void {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(OnnxGraphError);
    expect(PtqError.isInstance(error)).toBe(true);
    expect((error as OnnxGraphError).code).toBe('PTQ_ONNX_GRAPH');
    expect((error as Error).message).toBe(message);
    return;
  }
  throw new Error(`expected OnnxGraphError: ${message}`);
}

describe('GraphBuilder', () => {
  it('builds a model definition with ptq defaults', () => {
    const builder = new GraphBuilder({ name: 'linear' });
    const x = builder.input('x', 'float32', ['batch', 2]);
    const w = builder.initializer('w', weight);
    const y = builder.node('MatMul', [x, w]);
    builder.output(y, 'y', 'float32', ['batch', 2]);
    const model = builder.build();
    expect(model.irVersion).toBe(10);
    expect(model.producerName).toBe('ptq');
    expect(model.opsetImports).toEqual([
      { domain: '', version: 21 },
      { domain: 'com.microsoft', version: 1 },
    ]);
    expect(model.graph.inputs).toEqual([{ name: 'x', dtype: 'float32', shape: ['batch', 2] }]);
    expect(model.graph.initializers).toEqual([{ name: 'w', tensor: weight }]);
    expect(model.graph.nodes).toEqual([
      {
        opType: 'MatMul',
        domain: '',
        name: 'MatMul_0',
        inputs: ['x', 'w'],
        outputs: ['MatMul_0_output_0'],
        attributes: [],
      },
      {
        opType: 'Identity',
        domain: '',
        name: 'Identity_y_1',
        inputs: ['MatMul_0_output_0'],
        outputs: ['y'],
        attributes: [],
      },
    ]);
    expect(model.graph.outputs).toEqual([{ name: 'y', dtype: 'float32', shape: ['batch', 2] }]);
  });

  it('uses the given opset imports, metadata, node names and domains', () => {
    const builder = new GraphBuilder({
      name: 'g',
      opsetImports: { '': 17, 'com.microsoft': 1 },
      metadata: { quantization: 'int4' },
    });
    const x = builder.input('x', 'float32', [4]);
    const y = builder.node('Gelu', [x], {}, { domain: 'com.microsoft', name: 'gelu' });
    builder.output(y, 'y', 'float32', [4]);
    const model = builder.build();
    expect(model.opsetImports).toEqual([
      { domain: '', version: 17 },
      { domain: 'com.microsoft', version: 1 },
    ]);
    expect(model.metadata).toEqual({ quantization: 'int4' });
    expect(model.graph.nodes[0]).toMatchObject({
      name: 'gelu',
      domain: 'com.microsoft',
      outputs: ['gelu_output_0'],
    });
  });

  it('resolves attributes and keeps inner omitted inputs as "" while dropping trailing ones', () => {
    const builder = new GraphBuilder({ name: 'g' });
    const x = builder.input('x', 'float32', [4]);
    const scale = builder.constant(createTensor('float32', [4]));
    const y = builder.node('LayerNormalization', [x, scale, undefined], { axis: -1, epsilon: 1e-5 });
    const z = builder.node('Clip', [y, undefined, scale]);
    builder.output(z, 'z', 'float32', [4]);
    const [layerNorm, clip] = builder.build().graph.nodes;
    expect(layerNorm!.inputs).toEqual(['x', 'constant_0']);
    expect(layerNorm!.attributes).toEqual([
      { name: 'axis', type: 'int', value: -1n },
      { name: 'epsilon', type: 'float', value: 1e-5 },
    ]);
    expect(clip!.inputs).toEqual(['LayerNormalization_0_output_0', '', 'constant_0']);
  });

  it('names multiple outputs and keeps auto names clear of names already taken', () => {
    const builder = new GraphBuilder({ name: 'g' });
    const x = builder.input('Split_0_output_0', 'float32', [4]);
    const parts = builder.nodeWithOutputs('Split', [x], 2, { axis: 0, num_outputs: 2 });
    expect(parts.map((part) => part.name)).toEqual(['Split_0_output_0_1', 'Split_0_output_1']);
    const constants = [
      builder.constant(weight),
      builder.constant(weight, 'constant_2'),
      builder.constant(weight),
    ];
    expect(constants.map((value) => value.name)).toEqual(['constant_0', 'constant_2', 'constant_1']);
    const next = builder.constant(weight);
    expect(next.name).toBe('constant_3');
  });

  it('leaves unwanted optional outputs unnamed and drops trailing ones', () => {
    const builder = new GraphBuilder({ name: 'g' });
    const x = builder.input('x', 'float32', [2, 4]);
    const scale = builder.constant(createTensor('float32', [4], new Float32Array(4).fill(1)));
    const outputs = builder.nodeWithOptionalOutputs(
      'SkipLayerNormalization',
      [x, x, scale, scale],
      [true, false, false, true, false],
      {},
      { domain: 'com.microsoft' },
    );
    expect(outputs.map((output) => output?.name)).toEqual([
      'SkipLayerNormalization_0_output_0',
      undefined,
      undefined,
      'SkipLayerNormalization_0_output_3',
    ]);
    builder.output(outputs[3]!, 'sum', 'float32', [2, 4]);
    const node = builder.build().graph.nodes[0]!;
    expect(node.outputs).toEqual([
      'SkipLayerNormalization_0_output_0',
      '',
      '',
      'SkipLayerNormalization_0_output_3',
    ]);
    expect(() => builder.nodeWithOptionalOutputs('Split', [x], [false, false])).toThrow(
      /at least one output must be wanted/,
    );
  });

  it('names outputs as asked, so a graph output needs no Identity node', () => {
    const builder = new GraphBuilder({ name: 'g' });
    const x = builder.input('x', 'float32', [4]);
    const [y] = builder.nodeWithOutputs('Relu', [x], 1, {}, { outputNames: ['y'] });
    builder.output(y!, 'y', 'float32', [4]);
    expect(builder.build().graph.nodes.map((node) => [node.opType, node.outputs])).toEqual([['Relu', ['y']]]);
    expect(() => builder.node('Relu', [x], {}, { outputNames: ['x'] })).toThrow(/output name "x"/);
  });

  it('declares a value as output under its own name without an Identity node', () => {
    const builder = new GraphBuilder({ name: 'g' });
    const x = builder.input('x', 'float32', [2]);
    const y = builder.node('Relu', [x], {}, { name: 'relu' });
    builder.output(y, 'relu_output_0', 'float32', [2]);
    const model = builder.build();
    expect(model.graph.nodes).toHaveLength(1);
    expect(model.graph.outputs.map((output) => output.name)).toEqual(['relu_output_0']);
  });

  it('returns snapshots: later additions do not change a built definition', () => {
    const builder = new GraphBuilder({ name: 'g' });
    const x = builder.input('x', 'float32', [2]);
    builder.output(x, 'x', 'float32', [2]);
    const first = builder.build();
    builder.output(builder.node('Neg', [x]), 'y', 'float32', [2]);
    expect(first.graph.nodes).toHaveLength(0);
    expect(first.graph.outputs).toHaveLength(1);
    expect(builder.build().graph.outputs).toHaveLength(2);
  });
});

describe('GraphBuilder bad input', () => {
  it('rejects a value of another graph as input', () => {
    const builder = new GraphBuilder({ name: 'g' });
    const x = builder.input('x', 'float32', [2]);
    const stranger = new GraphBuilder({ name: 'other' }).input('h', 'float32', [2]);
    expectGraphError(
      () => builder.node('Add', [x, stranger]),
      'graph "g" node "Add_0" (Add): input 1 "h" is not a graph input, an initializer or an output of an earlier node of this graph',
    );
  });

  it('rejects a duplicate initializer name, and an initializer named like an input', () => {
    const builder = new GraphBuilder({ name: 'g' });
    builder.input('x', 'float32', [2]);
    builder.initializer('w', weight);
    expectGraphError(
      () => builder.initializer('w', weight),
      'graph "g": initializer name "w" is already used by another value',
    );
    expectGraphError(
      () => builder.initializer('x', weight),
      'graph "g": initializer name "x" is already used by another value',
    );
    expectGraphError(
      () => builder.input('w', 'float32', [1]),
      'graph "g": input name "w" is already used by another value',
    );
    expectGraphError(
      () => builder.initializer('', weight),
      'graph "g": initializer name must be a non-empty string',
    );
  });

  it('rejects an output that no node produces', () => {
    const builder = new GraphBuilder({ name: 'g' });
    builder.input('x', 'float32', [2]);
    expectGraphError(
      () => builder.output({ name: 'nowhere' }, 'y', 'float32', [2]),
      'graph "g" output "y": value "nowhere" is not defined in this graph',
    );
  });

  it('rejects duplicate outputs and output names taken by other values', () => {
    const builder = new GraphBuilder({ name: 'g' });
    const x = builder.input('x', 'float32', [2]);
    const w = builder.initializer('w', weight);
    builder.output(x, 'y', 'float32', [2]);
    expectGraphError(() => builder.output(x, 'y', 'float32', [2]), 'graph "g": output "y" is declared twice');
    expectGraphError(
      () => builder.output(x, 'w', 'float32', [2]),
      'graph "g" output "w": the name already belongs to another value of the graph',
    );
    expect(w.name).toBe('w');
  });

  it('rejects a graph with no outputs', () => {
    const builder = new GraphBuilder({ name: 'g' });
    builder.input('x', 'float32', [2]);
    expectGraphError(() => builder.build(), 'graph "g": the graph has no outputs');
  });

  it('rejects an unsupported dtype or inconsistent storage for an initializer', () => {
    const builder = new GraphBuilder({ name: 'g' });
    const float64 = { dtype: 'float64', shape: [1], data: new Float64Array(1) } as unknown as Tensor;
    expectGraphError(
      () => builder.initializer('w', float64),
      'graph "g" initializer "w": dtype "float64" is not supported (supported: float32, float16, bfloat16, float8e4m3fn, int8, uint8, int4, int32, int64, bool)',
    );
    const wrongStorage = { dtype: 'float16', shape: [2], data: new Float32Array(2) } as unknown as Tensor;
    expectGraphError(
      () => builder.initializer('w', wrongStorage),
      'graph "g" initializer "w": a float16 tensor needs a Uint16Array, got Float32Array',
    );
    const short = { dtype: 'int4', shape: [5], data: new Uint8Array(2) } as unknown as Tensor;
    expectGraphError(
      () => builder.initializer('w', short),
      'graph "g" initializer "w": a int4 tensor of shape [5] needs 3 storage elements, got 2',
    );
    const badShape = { dtype: 'uint8', shape: [-1], data: new Uint8Array(0) } as unknown as Tensor;
    expectGraphError(
      () => builder.initializer('w', badShape),
      'graph "g" initializer "w": shape [-1] has a dimension that is not a non-negative integer',
    );
  });

  it('rejects bad inputs, dims, node names, domains and output counts', () => {
    const builder = new GraphBuilder({ name: 'g', opsetImports: { '': 21 } });
    expectGraphError(
      () => builder.input('x', 'float64' as never, [2]),
      'graph "g" input "x": dtype "float64" is not supported',
    );
    expectGraphError(
      () => builder.input('x', 'float32', [1.5]),
      'graph "g" input "x": dimension 1.5 must be a non-negative integer or a symbolic name',
    );
    const x = builder.input('x', 'float32', [2]);
    builder.node('Relu', [x], {}, { name: 'relu' });
    expectGraphError(
      () => builder.node('Relu', [x], {}, { name: 'relu' }),
      'graph "g": node name "relu" is used twice',
    );
    expectGraphError(
      () => builder.node('MatMulNBits', [x], {}, { domain: 'com.microsoft' }),
      'graph "g" node "MatMulNBits_1" (com.microsoft::MatMulNBits): domain "com.microsoft" is not in the builder\'s opset imports',
    );
    expectGraphError(
      () => builder.nodeWithOutputs('Split', [x], 0),
      'graph "g" Split node: output count must be a positive integer, got 0',
    );
    expectGraphError(() => builder.node('', [x]), 'graph "g": op type must be a non-empty string');
    expectGraphError(
      () =>
        builder.node('Constant', [], {
          value: { dtype: 'float64', shape: [], data: new Float64Array(1) } as never,
        }),
      'graph "g" node "Constant_1" (Constant) attribute "value": dtype "float64" is not supported (supported: float32, float16, bfloat16, float8e4m3fn, int8, uint8, int4, int32, int64, bool)',
    );
  });
});

describe('validateModel on hand-written definitions', () => {
  const valid: ModelDefinition = {
    irVersion: 10,
    producerName: 'ptq',
    opsetImports: [{ domain: '', version: 21 }],
    graph: {
      name: 'g',
      inputs: [{ name: 'x', dtype: 'float32', shape: [2] }],
      outputs: [{ name: 'y', dtype: 'float32', shape: [2] }],
      initializers: [],
      nodes: [{ opType: 'Relu', domain: '', name: 'relu', inputs: ['x'], outputs: ['y'], attributes: [] }],
    },
  };

  function withGraph(
    graph: Partial<ModelDefinition['graph']>,
    model: Partial<ModelDefinition> = {},
  ): ModelDefinition {
    return { ...valid, ...model, graph: { ...valid.graph, ...graph } };
  }

  it('accepts a valid definition, and an initializer that doubles as an input default', () => {
    expect(() => validateModel(valid)).not.toThrow();
    const overridable = withGraph({ initializers: [{ name: 'x', tensor: createTensor('float32', [2]) }] });
    expect(() => validateModel(overridable)).not.toThrow();
  });

  it.each<[string, ModelDefinition, string]>([
    [
      'nodes out of topological order',
      withGraph({
        nodes: [
          { opType: 'Relu', domain: '', name: 'b', inputs: ['h'], outputs: ['y'], attributes: [] },
          { opType: 'Relu', domain: '', name: 'a', inputs: ['x'], outputs: ['h'], attributes: [] },
        ],
      }),
      'graph "g" node "b" (Relu): input 0 "h" is not a graph input, an initializer or an output of an earlier node',
    ],
    [
      'a value defined twice',
      withGraph({
        nodes: [{ opType: 'Relu', domain: '', name: 'r', inputs: ['x'], outputs: ['x'], attributes: [] }],
      }),
      'graph "g" node "r" (Relu): output "x" is already defined elsewhere in the graph',
    ],
    [
      'an output nothing produces',
      withGraph({ outputs: [{ name: 'z', dtype: 'float32', shape: [2] }] }),
      'graph "g": output "z" is not produced by any node, input or initializer',
    ],
    [
      'a duplicate input',
      withGraph({ inputs: [valid.graph.inputs[0]!, valid.graph.inputs[0]!] }),
      'graph "g": input "x" is declared twice',
    ],
    [
      'a domain that is not imported',
      withGraph({ nodes: [{ ...valid.graph.nodes[0]!, domain: 'com.microsoft' }] }),
      'graph "g" node "relu" (com.microsoft::Relu): domain "com.microsoft" is not in the model\'s opset imports ("")',
    ],
    [
      'an opset imported twice',
      withGraph(
        {},
        {
          opsetImports: [
            { domain: '', version: 21 },
            { domain: '', version: 17 },
          ],
        },
      ),
      'graph "g": opset domain "" is imported twice',
    ],
    [
      'a bad IR version',
      withGraph({}, { irVersion: 0 }),
      'graph "g": IR version 0 must be a positive integer',
    ],
    [
      'a repeated attribute',
      withGraph({
        nodes: [
          {
            ...valid.graph.nodes[0]!,
            attributes: [
              { name: 'alpha', type: 'float', value: 1 },
              { name: 'alpha', type: 'float', value: 2 },
            ],
          },
        ],
      }),
      'graph "g" node "relu" (Relu): attribute "alpha" is given twice',
    ],
    [
      'a node without outputs',
      withGraph({ nodes: [{ ...valid.graph.nodes[0]!, outputs: [] }] }),
      'graph "g" node "relu" (Relu): a node needs at least one output',
    ],
  ])('rejects %s', (_, model, message) => {
    expectGraphError(() => validateModel(model), message);
  });
});
