import type { DType, Tensor } from '@ptq/tensor';
import { type AttributeValue, toAttribute } from './attribute-value';
import { OnnxGraphError } from './errors';
import {
  type Attribute,
  type Dimension,
  type Initializer,
  IR_VERSION,
  type ModelDefinition,
  type NodeDefinition,
  PRODUCER_NAME,
  type Value,
  type ValueInfo,
} from './model-definition';
import { validateModel, validateTensor, validateValueInfo } from './validate-model';

export interface NodeOptions {
  /** Operator domain; `""` (the default) is standard ONNX, `"com.microsoft"` holds onnxruntime contrib ops. */
  domain?: string;
  /** Node name; defaults to `<opType>_<index>`. */
  name?: string;
  /**
   * Names for the outputs, by position (default `<node name>_output_<i>`). Naming a node's output after
   * a graph output spares the Identity node `output()` would otherwise add.
   */
  outputNames?: readonly (string | undefined)[];
}

export interface GraphBuilderOptions {
  name: string;
  /** Domain → opset version. Defaults to `{ '': 21, 'com.microsoft': 1 }`. */
  opsetImports?: Record<string, number>;
  /** `ModelProto.metadata_props` key/value pairs. */
  metadata?: Record<string, string>;
}

export const DEFAULT_OPSET_IMPORTS: Readonly<Record<string, number>> = { '': 21, 'com.microsoft': 1 };

/**
 * Builds an ONNX graph one value at a time. Every call checks its arguments at once, so an unknown
 * input or a duplicate name is reported where it is made; `build()` checks the graph as a whole.
 */
export class GraphBuilder {
  readonly name: string;
  readonly #opsetImports: Record<string, number>;
  readonly #metadata: Record<string, string>;
  readonly #inputs: ValueInfo[] = [];
  readonly #outputs: ValueInfo[] = [];
  readonly #initializers: Initializer[] = [];
  readonly #nodes: NodeDefinition[] = [];
  readonly #valueNames = new Set<string>();
  readonly #nodeNames = new Set<string>();
  #constantCount = 0;

  constructor(options: GraphBuilderOptions) {
    this.name = options.name;
    this.#opsetImports = { ...(options.opsetImports ?? DEFAULT_OPSET_IMPORTS) };
    this.#metadata = { ...(options.metadata ?? {}) };
  }

  /** Declares a graph input. A string dimension is symbolic (`dim_param`), e.g. `'batch'`. */
  input(name: string, dtype: DType, shape: Dimension[]): Value {
    const info: ValueInfo = { name, dtype, shape: [...shape] };
    validateValueInfo(info, `graph "${this.name}" input`);
    this.#claimValueName(name, 'input');
    this.#inputs.push(info);
    return { name };
  }

  /** Adds a named constant tensor (a weight). Names must be unique across the graph. */
  initializer(name: string, tensor: Tensor): Value {
    if (typeof name !== 'string' || name === '') {
      throw new OnnxGraphError(`graph "${this.name}": initializer name must be a non-empty string`);
    }
    validateTensor(tensor, `graph "${this.name}" initializer "${name}"`);
    this.#claimValueName(name, 'initializer');
    this.#initializers.push({ name, tensor });
    return { name };
  }

  /** Adds a small constant as an initializer, named `constant_<n>` unless a name is given. */
  constant(tensor: Tensor, name?: string): Value {
    if (name === undefined) {
      do {
        name = `constant_${this.#constantCount++}`;
      } while (this.#valueNames.has(name));
    }
    return this.initializer(name, tensor);
  }

  /** Adds a node with one output and returns that output. `undefined` inputs are omitted optional inputs. */
  node(
    opType: string,
    inputs: (Value | undefined)[],
    attributes?: Record<string, AttributeValue>,
    options?: NodeOptions,
  ): Value {
    const [output] = this.nodeWithOutputs(opType, inputs, 1, attributes, options);
    return output!;
  }

  /** Adds a node with `outputCount` outputs, named `<node name>_output_<i>`. */
  nodeWithOutputs(
    opType: string,
    inputs: (Value | undefined)[],
    outputCount: number,
    attributes: Record<string, AttributeValue> = {},
    options: NodeOptions = {},
  ): Value[] {
    if (!Number.isSafeInteger(outputCount) || outputCount < 1) {
      throw new OnnxGraphError(
        `graph "${this.name}" ${opType} node: output count must be a positive integer, got ${outputCount}`,
      );
    }
    return this.nodeWithOptionalOutputs(
      opType,
      inputs,
      Array.from({ length: outputCount }, () => true),
      attributes,
      options,
    ) as Value[];
  }

  /**
   * Adds a node whose outputs are optional: `wanted[i]` false leaves output `i` unnamed (`""`, which
   * tells the runtime not to compute it) and returns `undefined` in its place. Trailing unwanted
   * outputs are dropped.
   */
  nodeWithOptionalOutputs(
    opType: string,
    inputs: (Value | undefined)[],
    wanted: readonly boolean[],
    attributes: Record<string, AttributeValue> = {},
    options: NodeOptions = {},
  ): (Value | undefined)[] {
    if (typeof opType !== 'string' || opType === '') {
      throw new OnnxGraphError(`graph "${this.name}": op type must be a non-empty string`);
    }
    const outputCount = wanted.lastIndexOf(true) + 1;
    if (outputCount < 1) {
      throw new OnnxGraphError(`graph "${this.name}" ${opType} node: at least one output must be wanted`);
    }
    const domain = options.domain ?? '';
    const nodeName = options.name ?? this.#uniqueNodeName(opType);
    const where = `graph "${this.name}" node "${nodeName}" (${domain === '' ? '' : `${domain}::`}${opType})`;
    if (this.#nodeNames.has(nodeName)) {
      throw new OnnxGraphError(`graph "${this.name}": node name "${nodeName}" is used twice`);
    }
    if (!Object.hasOwn(this.#opsetImports, domain)) {
      throw new OnnxGraphError(`${where}: domain "${domain}" is not in the builder's opset imports`);
    }
    const inputNames = inputs.map((input, index) => {
      if (input === undefined) {
        return '';
      }
      if (!this.#valueNames.has(input.name)) {
        throw new OnnxGraphError(
          `${where}: input ${index} "${input.name}" is not a graph input, an initializer or an output of an earlier node of this graph`,
        );
      }
      return input.name;
    });
    // Trailing omitted inputs are dropped; inner ones stay as "" placeholders, as ONNX requires.
    while (inputNames.length > 0 && inputNames[inputNames.length - 1] === '') {
      inputNames.pop();
    }
    const resolvedAttributes: Attribute[] = Object.entries(attributes).map(([name, value]) =>
      toAttribute(name, value, `${where} attribute "${name}"`),
    );
    for (const attribute of resolvedAttributes) {
      if (attribute.type === 'tensor') {
        validateTensor(attribute.value, `${where} attribute "${attribute.name}"`);
      }
    }
    const outputNames: string[] = [];
    for (let index = 0; index < outputCount; index++) {
      const given = options.outputNames?.[index];
      if (!wanted[index]) {
        outputNames.push('');
      } else if (given === undefined) {
        outputNames.push(this.#uniqueValueName(`${nodeName}_output_${index}`));
      } else {
        if (given === '' || this.#valueNames.has(given) || outputNames.includes(given)) {
          throw new OnnxGraphError(`${where}: output name "${given}" is empty or already used`);
        }
        outputNames.push(given);
      }
    }
    this.#nodeNames.add(nodeName);
    for (const output of outputNames) {
      if (output !== '') this.#valueNames.add(output);
    }
    this.#nodes.push({
      opType,
      domain,
      name: nodeName,
      inputs: inputNames,
      outputs: outputNames,
      attributes: resolvedAttributes,
    });
    return outputNames.map((name) => (name === '' ? undefined : { name }));
  }

  /**
   * Declares `value` as a graph output called `name`. When the value has another name, an Identity
   * node gives it this one, so internal names never leak into the model's interface.
   */
  output(value: Value, name: string, dtype: DType, shape: Dimension[]): void {
    const info: ValueInfo = { name, dtype, shape: [...shape] };
    validateValueInfo(info, `graph "${this.name}" output`);
    if (!this.#valueNames.has(value.name)) {
      throw new OnnxGraphError(
        `graph "${this.name}" output "${name}": value "${value.name}" is not defined in this graph`,
      );
    }
    if (this.#outputs.some((output) => output.name === name)) {
      throw new OnnxGraphError(`graph "${this.name}": output "${name}" is declared twice`);
    }
    if (value.name !== name) {
      if (this.#valueNames.has(name)) {
        throw new OnnxGraphError(
          `graph "${this.name}" output "${name}": the name already belongs to another value of the graph`,
        );
      }
      const nodeName = this.#uniqueNodeName(`Identity_${name}`);
      this.#nodeNames.add(nodeName);
      this.#valueNames.add(name);
      this.#nodes.push({
        opType: 'Identity',
        domain: '',
        name: nodeName,
        inputs: [value.name],
        outputs: [name],
        attributes: [],
      });
    }
    this.#outputs.push(info);
  }

  /** A snapshot of the graph as a validated model definition; the builder may keep growing afterwards. */
  build(): ModelDefinition {
    const model: ModelDefinition = {
      irVersion: IR_VERSION,
      producerName: PRODUCER_NAME,
      opsetImports: Object.entries(this.#opsetImports).map(([domain, version]) => ({ domain, version })),
      metadata: { ...this.#metadata },
      graph: {
        name: this.name,
        inputs: [...this.#inputs],
        outputs: [...this.#outputs],
        initializers: [...this.#initializers],
        nodes: [...this.#nodes],
      },
    };
    validateModel(model);
    return model;
  }

  #claimValueName(name: string, kind: string): void {
    if (this.#valueNames.has(name)) {
      throw new OnnxGraphError(
        `graph "${this.name}": ${kind} name "${name}" is already used by another value`,
      );
    }
    this.#valueNames.add(name);
  }

  #uniqueValueName(base: string): string {
    let name = base;
    for (let suffix = 1; this.#valueNames.has(name); suffix++) {
      name = `${base}_${suffix}`;
    }
    return name;
  }

  #uniqueNodeName(base: string): string {
    let name = `${base}_${this.#nodes.length}`;
    for (let suffix = 1; this.#nodeNames.has(name); suffix++) {
      name = `${base}_${this.#nodes.length}_${suffix}`;
    }
    return name;
  }
}
