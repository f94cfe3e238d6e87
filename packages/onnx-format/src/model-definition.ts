import type { DType, Tensor } from '@ptq/tensor';

/** A dimension of a graph input or output: a size, or a symbolic name (`dim_param`) such as `"batch"`. */
export type Dimension = number | string;

/** A named value in the graph: a graph input, an initializer or a node output. */
export interface Value {
  readonly name: string;
}

/** A value's declared element type and shape, as graph inputs and outputs carry them. */
export interface ValueInfo {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly Dimension[];
}

/** A constant tensor stored in the model. */
export interface Initializer {
  readonly name: string;
  readonly tensor: Tensor;
}

/** An operator set the model imports; `domain` `""` is the default ONNX domain. */
export interface OpsetImport {
  readonly domain: string;
  readonly version: number;
}

/**
 * A node attribute after type resolution: exactly the ONNX `AttributeProto` kinds ptq writes.
 * Integers are `bigint` because ONNX stores them as int64.
 */
export type Attribute =
  | { readonly name: string; readonly type: 'float'; readonly value: number }
  | { readonly name: string; readonly type: 'int'; readonly value: bigint }
  | { readonly name: string; readonly type: 'string'; readonly value: string }
  | { readonly name: string; readonly type: 'tensor'; readonly value: Tensor }
  | { readonly name: string; readonly type: 'floats'; readonly value: readonly number[] }
  | { readonly name: string; readonly type: 'ints'; readonly value: readonly bigint[] }
  | { readonly name: string; readonly type: 'strings'; readonly value: readonly string[] };

export type AttributeType = Attribute['type'];

export interface NodeDefinition {
  readonly opType: string;
  /** `""` for the default ONNX domain, `"com.microsoft"` for onnxruntime contrib ops. */
  readonly domain: string;
  readonly name: string;
  /** Value names; `""` marks an omitted optional input. */
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly attributes: readonly Attribute[];
}

export interface GraphDefinition {
  readonly name: string;
  readonly inputs: readonly ValueInfo[];
  readonly outputs: readonly ValueInfo[];
  readonly initializers: readonly Initializer[];
  /** Topologically sorted: every node reads only values defined before it. */
  readonly nodes: readonly NodeDefinition[];
}

/** Everything `serializeModel` / `writeModel` turn into a `ModelProto`. */
export interface ModelDefinition {
  readonly irVersion: number;
  readonly producerName: string;
  readonly opsetImports: readonly OpsetImport[];
  /** `ModelProto.metadata_props`. */
  readonly metadata?: Readonly<Record<string, string>>;
  readonly graph: GraphDefinition;
}

/** ONNX IR version 10 (ONNX 1.16): the first with int4, which ptq writes. */
export const IR_VERSION = 10;

export const PRODUCER_NAME = 'ptq';
