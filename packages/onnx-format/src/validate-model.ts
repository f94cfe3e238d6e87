import { storageLengthOf, type Tensor } from '@ptq/tensor';
import { isSupportedDType, STORAGE_TYPE_NAMES } from './data-types';
import { OnnxGraphError } from './errors';
import type { Attribute, ModelDefinition, NodeDefinition, ValueInfo } from './model-definition';

function storageName(data: unknown): string {
  // Compare by tag rather than constructor identity: typed arrays from another realm (a worker,
  // onnxruntime's native side) are just as good.
  return Object.prototype.toString.call(data).slice(8, -1);
}

/** Checks a tensor's dtype, shape and storage; `where` names its owner for the error. */
export function validateTensor(tensor: Tensor, where: string): void {
  if (!isSupportedDType(tensor.dtype)) {
    throw new OnnxGraphError(
      `${where}: dtype "${String(tensor.dtype)}" is not supported (supported: ${Object.keys(STORAGE_TYPE_NAMES).join(', ')})`,
    );
  }
  if (!Array.isArray(tensor.shape)) {
    throw new OnnxGraphError(`${where}: shape must be an array of dimensions`);
  }
  let count = 1;
  for (const dimension of tensor.shape) {
    if (!Number.isSafeInteger(dimension) || dimension < 0) {
      throw new OnnxGraphError(
        `${where}: shape [${tensor.shape.join(', ')}] has a dimension that is not a non-negative integer`,
      );
    }
    count *= dimension;
  }
  const expectedStorage = STORAGE_TYPE_NAMES[tensor.dtype];
  const actualStorage = storageName(tensor.data);
  if (actualStorage !== expectedStorage) {
    throw new OnnxGraphError(
      `${where}: a ${tensor.dtype} tensor needs a ${expectedStorage}, got ${actualStorage}`,
    );
  }
  const expectedLength = storageLengthOf(tensor.dtype, count);
  if (tensor.data.length !== expectedLength) {
    throw new OnnxGraphError(
      `${where}: a ${tensor.dtype} tensor of shape [${tensor.shape.join(', ')}] needs ${expectedLength} storage elements, got ${tensor.data.length}`,
    );
  }
}

/** Checks a graph input or output declaration. */
export function validateValueInfo(info: ValueInfo, where: string): void {
  if (typeof info.name !== 'string' || info.name === '') {
    throw new OnnxGraphError(`${where}: name must be a non-empty string`);
  }
  if (!isSupportedDType(info.dtype)) {
    throw new OnnxGraphError(`${where} "${info.name}": dtype "${String(info.dtype)}" is not supported`);
  }
  for (const dimension of info.shape) {
    const valid =
      typeof dimension === 'string' || (Number.isSafeInteger(dimension) && (dimension as number) >= 0);
    if (!valid) {
      throw new OnnxGraphError(
        `${where} "${info.name}": dimension ${String(dimension)} must be a non-negative integer or a symbolic name`,
      );
    }
  }
}

function validateAttributes(attributes: readonly Attribute[], where: string): void {
  const seen = new Set<string>();
  for (const attribute of attributes) {
    if (attribute.name === '') {
      throw new OnnxGraphError(`${where}: attribute name must be non-empty`);
    }
    if (seen.has(attribute.name)) {
      throw new OnnxGraphError(`${where}: attribute "${attribute.name}" is given twice`);
    }
    seen.add(attribute.name);
    if (attribute.type === 'tensor') {
      validateTensor(attribute.value, `${where} attribute "${attribute.name}"`);
    }
  }
}

function describeNode(node: NodeDefinition, index: number): string {
  const label = node.name === '' ? `#${index}` : `"${node.name}"`;
  return `node ${label} (${node.domain === '' ? '' : `${node.domain}::`}${node.opType})`;
}

/**
 * Checks the rules onnxruntime would otherwise report far from their cause: every value defined
 * once, nodes in topological order, every input and output defined, domains imported, tensors
 * consistent with their dtype and shape.
 */
export function validateModel(model: ModelDefinition): void {
  const { graph } = model;
  const graphLabel = `graph "${graph.name}"`;
  if (!Number.isSafeInteger(model.irVersion) || model.irVersion <= 0) {
    throw new OnnxGraphError(`${graphLabel}: IR version ${model.irVersion} must be a positive integer`);
  }
  const domains = new Set<string>();
  for (const opset of model.opsetImports) {
    if (domains.has(opset.domain)) {
      throw new OnnxGraphError(`${graphLabel}: opset domain "${opset.domain}" is imported twice`);
    }
    if (!Number.isSafeInteger(opset.version) || opset.version <= 0) {
      throw new OnnxGraphError(
        `${graphLabel}: opset version ${opset.version} of domain "${opset.domain}" must be a positive integer`,
      );
    }
    domains.add(opset.domain);
  }

  const defined = new Set<string>();
  const inputNames = new Set<string>();
  for (const input of graph.inputs) {
    validateValueInfo(input, `${graphLabel} input`);
    if (inputNames.has(input.name)) {
      throw new OnnxGraphError(`${graphLabel}: input "${input.name}" is declared twice`);
    }
    inputNames.add(input.name);
    defined.add(input.name);
  }
  const initializerNames = new Set<string>();
  for (const initializer of graph.initializers) {
    const where = `${graphLabel} initializer "${initializer.name}"`;
    if (typeof initializer.name !== 'string' || initializer.name === '') {
      throw new OnnxGraphError(`${graphLabel}: initializer name must be a non-empty string`);
    }
    if (initializerNames.has(initializer.name)) {
      throw new OnnxGraphError(`${graphLabel}: initializer name "${initializer.name}" is used twice`);
    }
    // An initializer may share its name with a graph input: ONNX treats it as the input's default.
    initializerNames.add(initializer.name);
    defined.add(initializer.name);
    validateTensor(initializer.tensor, where);
  }

  const nodeNames = new Set<string>();
  for (const [index, node] of graph.nodes.entries()) {
    const where = `${graphLabel} ${describeNode(node, index)}`;
    if (node.opType === '') {
      throw new OnnxGraphError(`${graphLabel}: a node has an empty op type`);
    }
    if (node.name !== '') {
      if (nodeNames.has(node.name)) {
        throw new OnnxGraphError(`${graphLabel}: node name "${node.name}" is used twice`);
      }
      nodeNames.add(node.name);
    }
    if (!domains.has(node.domain)) {
      throw new OnnxGraphError(
        `${where}: domain "${node.domain}" is not in the model's opset imports (${[...domains].map((domain) => `"${domain}"`).join(', ')})`,
      );
    }
    node.inputs.forEach((input, position) => {
      if (input !== '' && !defined.has(input)) {
        throw new OnnxGraphError(
          `${where}: input ${position} "${input}" is not a graph input, an initializer or an output of an earlier node`,
        );
      }
    });
    if (node.outputs.length === 0) {
      throw new OnnxGraphError(`${where}: a node needs at least one output`);
    }
    for (const output of node.outputs) {
      if (output === '') {
        continue;
      }
      if (defined.has(output)) {
        throw new OnnxGraphError(`${where}: output "${output}" is already defined elsewhere in the graph`);
      }
      defined.add(output);
    }
    validateAttributes(node.attributes, where);
  }

  if (graph.outputs.length === 0) {
    throw new OnnxGraphError(`${graphLabel}: the graph has no outputs`);
  }
  const outputNames = new Set<string>();
  for (const output of graph.outputs) {
    validateValueInfo(output, `${graphLabel} output`);
    if (outputNames.has(output.name)) {
      throw new OnnxGraphError(`${graphLabel}: output "${output.name}" is declared twice`);
    }
    outputNames.add(output.name);
    if (!defined.has(output.name)) {
      throw new OnnxGraphError(
        `${graphLabel}: output "${output.name}" is not produced by any node, input or initializer`,
      );
    }
  }
}
