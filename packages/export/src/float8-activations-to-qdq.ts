import type { Initializer, ModelDefinition, NodeDefinition } from '@ptq/onnx-format';
import { createTensor, FLOAT8_E4M3FN_MAX, toFloat32 } from '@ptq/tensor';

// The ops the runtime's float8 fake quantization (`@ptq/onnx`'s `appendFloat8FakeQuant`) is built from.
const FAKE_QUANT_OPS = new Set(['Div', 'Clip', 'Mul', 'Sub', 'Add', 'Abs', 'Less', 'Where']);

// Enough to cover one fake-quantization subgraph (a dozen nodes), never the whole graph.
const SEARCH_LIMIT = 64;

interface Replacement {
  /** The float value quantized (the fake quantization's input). */
  readonly input: string;
  readonly scale: number;
  /** The fake quantization's output, which the DequantizeLinear takes over. */
  readonly output: string;
}

/**
 * Rewrites a runtime graph for TensorRT: every float8 activation fake quantization that feeds a
 * `MatMul` with a float8 `DequantizeLinear` weight becomes `QuantizeLinear → DequantizeLinear`
 * (float8e4m3fn, per-tensor scale, saturating), the pattern TensorRT fuses into an FP8 GEMM. The
 * runtime builds that fake quantization from plain ops because onnxruntime's CPU provider refuses
 * float8 Q/DQ on activations in its default optimization level. Nodes the rewrite leaves unused
 * are removed. A linear with an input scale of 0 keeps its `Mul` by 0 (Q/DQ cannot divide by 0).
 */
export function float8ActivationsToQdq(model: ModelDefinition): ModelDefinition {
  const { graph } = model;
  const producers = new Map<string, number>();
  graph.nodes.forEach((node, index) => {
    for (const output of node.outputs) producers.set(output, index);
  });
  const initializers = new Map(
    graph.initializers.map((initializer) => [initializer.name, initializer.tensor]),
  );
  const producerOf = (value: string): NodeDefinition | undefined => {
    const index = producers.get(value);
    return index === undefined ? undefined : graph.nodes[index];
  };
  const scalarOf = (value: string | undefined): number | undefined => {
    const tensor = value === undefined ? undefined : initializers.get(value);
    if (tensor === undefined || tensor.shape.length !== 0) return undefined;
    const values = toFloat32(tensor);
    return values[0];
  };

  const replacements = new Map<number, Replacement>();
  for (const node of graph.nodes) {
    if (node.opType !== 'MatMul' || node.domain !== '') continue;
    const weight = producerOf(node.inputs[1] ?? '');
    const codes =
      weight?.opType === 'DequantizeLinear' ? initializers.get(weight.inputs[0] ?? '') : undefined;
    if (codes?.dtype !== 'float8e4m3fn') continue;
    // float16 models wrap the float32 fake quantization in Casts.
    let output = node.inputs[0] ?? '';
    if (producerOf(output)?.opType === 'Cast') output = producerOf(output)!.inputs[0] ?? '';
    const final = producerOf(output);
    if (final?.opType !== 'Mul') continue;
    const clip = findClip(final, producerOf);
    if (clip === undefined) continue;
    if (scalarOf(clip.inputs[1]) !== -FLOAT8_E4M3FN_MAX || scalarOf(clip.inputs[2]) !== FLOAT8_E4M3FN_MAX)
      continue;
    const division = producerOf(clip.inputs[0] ?? '')!;
    const scale = scalarOf(division.inputs[1]);
    if (scale === undefined || !(scale > 0) || scalarOf(final.inputs[1]) !== scale) continue;
    replacements.set(producers.get(output)!, { input: division.inputs[0]!, scale, output });
  }
  if (replacements.size === 0) return model;

  const names = new Set<string>([
    ...graph.inputs.map((input) => input.name),
    ...graph.initializers.map((initializer) => initializer.name),
    ...graph.nodes.flatMap((node) => node.outputs),
  ]);
  const nodeNames = new Set(graph.nodes.map((node) => node.name));
  const unique = (base: string, taken: Set<string>) => {
    let name = base;
    for (let count = 1; taken.has(name); count += 1) name = `${base}_${count}`;
    taken.add(name);
    return name;
  };
  const zeroPoint = unique('qdq.float8_zero_point', names);
  const added: Initializer[] = [
    { name: zeroPoint, tensor: createTensor('float8e4m3fn', [], Uint8Array.of(0)) },
  ];
  const nodes: NodeDefinition[] = [];
  graph.nodes.forEach((node, index) => {
    const replacement = replacements.get(index);
    if (replacement === undefined) {
      nodes.push(node);
      return;
    }
    const scaleName = unique(`${replacement.output}.input_scale`, names);
    added.push({ name: scaleName, tensor: createTensor('float32', [], Float32Array.of(replacement.scale)) });
    const quantized = unique(`${replacement.output}.float8`, names);
    nodes.push(
      {
        opType: 'QuantizeLinear',
        domain: '',
        name: unique(`${node.name}_QuantizeLinear`, nodeNames),
        inputs: [replacement.input, scaleName, zeroPoint],
        outputs: [quantized],
        attributes: [],
      },
      {
        opType: 'DequantizeLinear',
        domain: '',
        name: unique(`${node.name}_DequantizeLinear`, nodeNames),
        inputs: [quantized, scaleName, zeroPoint],
        outputs: [replacement.output],
        attributes: [],
      },
    );
  });
  return pruneUnused({
    ...model,
    graph: { ...graph, nodes, initializers: [...graph.initializers, ...added] },
  });
}

/** The `Clip(Div(x, s), -448, 448)` that starts the fake quantization ending at `final`. */
function findClip(
  final: NodeDefinition,
  producerOf: (value: string) => NodeDefinition | undefined,
): NodeDefinition | undefined {
  const queue = [final];
  const seen = new Set<NodeDefinition>(queue);
  while (queue.length > 0 && seen.size <= SEARCH_LIMIT) {
    const node = queue.shift()!;
    if (node.opType === 'Clip' && producerOf(node.inputs[0] ?? '')?.opType === 'Div') return node;
    for (const input of node.inputs) {
      const producer = producerOf(input);
      if (producer === undefined || seen.has(producer) || !FAKE_QUANT_OPS.has(producer.opType)) continue;
      seen.add(producer);
      queue.push(producer);
    }
  }
  return undefined;
}

/** Drops nodes and initializers no graph output depends on (nodes are in topological order). */
function pruneUnused(model: ModelDefinition): ModelDefinition {
  const { graph } = model;
  const needed = new Set(graph.outputs.map((output) => output.name));
  const kept: NodeDefinition[] = [];
  for (let index = graph.nodes.length - 1; index >= 0; index -= 1) {
    const node = graph.nodes[index]!;
    if (!node.outputs.some((output) => needed.has(output))) continue;
    kept.push(node);
    for (const input of node.inputs) if (input !== '') needed.add(input);
  }
  kept.reverse();
  return {
    ...model,
    graph: {
      ...graph,
      nodes: kept,
      initializers: graph.initializers.filter((initializer) => needed.has(initializer.name)),
    },
  };
}
