import { InvalidArgumentError } from '@ptq/errors';
import { allocateStorage, byteLengthOf, type DType, type Tensor } from '@ptq/tensor';
import { dtypeOfOnnxDataType } from './data-types';
import type { Attribute, Dimension, NodeDefinition, OpsetImport } from './model-definition';
import {
  AttributeProtoField,
  AttributeProtoType,
  DataLocation,
  DimensionField,
  GraphProtoField,
  ModelProtoField,
  NodeProtoField,
  OperatorSetIdProtoField,
  StringStringEntryProtoField,
  TensorProtoField,
  TensorShapeProtoField,
  TypeProtoField,
  TypeProtoTensorField,
  ValueInfoProtoField,
} from './onnx-proto-fields';
import { type FieldTag, ProtobufReader, readRepeated } from './protobuf-reader';
import { WireType } from './protobuf-writer';

/** Where an externally stored tensor's bytes are, relative to the model file. */
export interface ExternalDataReference {
  readonly location: string;
  readonly offset: number;
  /** `undefined` when the model leaves it out: the data runs to the end of the file. */
  readonly length: number | undefined;
}

/** A `TensorProto` as stored: its bytes inline (a view into the decoded buffer) or a reference to external data. */
export interface DecodedTensor {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly rawData?: Uint8Array;
  readonly externalData?: ExternalDataReference;
}

export interface DecodedValueInfo {
  readonly name: string;
  readonly dtype: DType;
  /** `undefined` when the model does not say (unknown rank); `""` marks a dimension of unknown size. */
  readonly shape: readonly Dimension[] | undefined;
}

/** An attribute kind ptq does not write (graphs, lists of tensors…), kept so `inspect` can show it. */
export interface UnsupportedAttribute {
  readonly name: string;
  readonly type: 'unsupported';
  /** The `AttributeProto.AttributeType` code. */
  readonly attributeType: number;
}

export type DecodedAttribute = Attribute | UnsupportedAttribute;

export interface DecodedNode extends Omit<NodeDefinition, 'attributes'> {
  readonly attributes: readonly DecodedAttribute[];
}

export interface DecodedModel {
  readonly irVersion: number;
  readonly producerName: string;
  readonly producerVersion: string;
  readonly opsetImports: readonly OpsetImport[];
  readonly metadata: Readonly<Record<string, string>>;
  readonly graph: {
    readonly name: string;
    readonly inputs: readonly DecodedValueInfo[];
    readonly outputs: readonly DecodedValueInfo[];
    readonly initializers: readonly DecodedTensor[];
    readonly nodes: readonly DecodedNode[];
  };
}

export interface DecodeModelOptions {
  /** Named in error messages; defaults to `"ModelProto"`. */
  file?: string;
}

function readStringEntry(reader: ProtobufReader, label: string): [string, string] {
  let key = '';
  let value = '';
  while (!reader.atEnd) {
    const tag = reader.readTag();
    if (tag.field === StringStringEntryProtoField.key) {
      reader.expectWireType(tag, WireType.lengthDelimited, 'key');
      key = reader.readString('key');
    } else if (tag.field === StringStringEntryProtoField.value) {
      reader.expectWireType(tag, WireType.lengthDelimited, 'value');
      value = reader.readString('value');
    } else {
      reader.skip(tag);
    }
  }
  if (key === '') {
    throw reader.error('key', `${label} entry has no key`);
  }
  return [key, value];
}

function parseDecimal(reader: ProtobufReader, key: string, text: string): number {
  if (!/^\d{1,16}$/.test(text) || !Number.isSafeInteger(Number(text))) {
    throw reader.error('external_data', `"${key}" must be a non-negative decimal integer, got "${text}"`);
  }
  return Number(text);
}

function toRawBytes(values: ArrayLike<number> | ArrayLike<bigint>, dtype: DType): Uint8Array {
  // `int32_data` holds one element per entry (one packed byte for int4); widen or narrow to the dtype's storage.
  const storage = allocateStorage(dtype, 0).constructor as new (
    items: ArrayLike<number | bigint>,
  ) => ArrayBufferView;
  const typed = new storage(values as ArrayLike<number | bigint>);
  return new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength);
}

function readTensor(reader: ProtobufReader): DecodedTensor {
  const shape: number[] = [];
  const floats: number[] = [];
  const int32s: number[] = [];
  const int64s: bigint[] = [];
  let dataType = 0;
  let name = '';
  let rawData: Uint8Array | undefined;
  let dataLocation = DataLocation.default as number;
  const external = new Map<string, string>();
  while (!reader.atEnd) {
    const tag = reader.readTag();
    switch (tag.field) {
      case TensorProtoField.dims:
        readRepeated(
          reader,
          tag,
          WireType.varint,
          'dims',
          (source) => source.readVarintNumber('dims'),
          shape,
        );
        break;
      case TensorProtoField.dataType:
        reader.expectWireType(tag, WireType.varint, 'data_type');
        dataType = reader.readVarintNumber('data_type');
        break;
      case TensorProtoField.name:
        reader.expectWireType(tag, WireType.lengthDelimited, 'name');
        name = reader.readString('name');
        break;
      case TensorProtoField.rawData:
        reader.expectWireType(tag, WireType.lengthDelimited, 'raw_data');
        rawData = reader.readBytes('raw_data');
        break;
      case TensorProtoField.floatData:
        readRepeated(
          reader,
          tag,
          WireType.fixed32,
          'float_data',
          (source) => source.readFloat('float_data'),
          floats,
        );
        break;
      case TensorProtoField.int32Data:
        readRepeated(
          reader,
          tag,
          WireType.varint,
          'int32_data',
          (source) => Number(BigInt.asIntN(32, source.readVarintUnsigned('int32_data'))),
          int32s,
        );
        break;
      case TensorProtoField.int64Data:
        readRepeated(
          reader,
          tag,
          WireType.varint,
          'int64_data',
          (source) => source.readVarintSigned('int64_data'),
          int64s,
        );
        break;
      case TensorProtoField.externalData: {
        reader.expectWireType(tag, WireType.lengthDelimited, 'external_data');
        const [key, value] = readStringEntry(
          reader.readMessage('external_data', 'StringStringEntryProto'),
          'external_data',
        );
        external.set(key, value);
        break;
      }
      case TensorProtoField.dataLocation:
        reader.expectWireType(tag, WireType.varint, 'data_location');
        dataLocation = reader.readVarintNumber('data_location');
        break;
      default:
        reader.skip(tag);
    }
  }
  const label = `tensor "${name}"`;
  const dtype = dtypeOfOnnxDataType(dataType);
  if (dtype === undefined) {
    throw reader.error('data_type', `${label} has data type ${dataType}, which ptq does not handle`);
  }
  let count = 1;
  for (const dimension of shape) {
    count *= dimension;
  }
  if (!Number.isSafeInteger(count)) {
    throw reader.error('dims', `${label} shape [${shape.join(', ')}] has too many elements`);
  }
  const expectedBytes = byteLengthOf(dtype, count);

  if (dataLocation === DataLocation.external) {
    const location = external.get('location');
    if (location === undefined || location === '') {
      throw reader.error('external_data', `${label} is stored externally but names no location`);
    }
    const offsetText = external.get('offset');
    const lengthText = external.get('length');
    const offset = offsetText === undefined ? 0 : parseDecimal(reader, 'offset', offsetText);
    const length = lengthText === undefined ? undefined : parseDecimal(reader, 'length', lengthText);
    if (length !== undefined && length !== expectedBytes) {
      throw reader.error(
        'external_data',
        `${label} external length ${length} does not match ${expectedBytes} bytes of ${dtype} [${shape.join(', ')}]`,
      );
    }
    return { name, dtype, shape, externalData: { location, offset, length } };
  }
  if (dataLocation !== DataLocation.default) {
    throw reader.error('data_location', `${label} has unknown data location ${dataLocation}`);
  }

  if (rawData === undefined) {
    if (floats.length > 0) {
      rawData = toRawBytes(floats, dtype);
    } else if (int32s.length > 0) {
      rawData = toRawBytes(int32s, dtype);
    } else if (int64s.length > 0) {
      rawData = toRawBytes(int64s, dtype);
    } else {
      rawData = new Uint8Array(0);
    }
  }
  if (rawData.byteLength !== expectedBytes) {
    throw reader.error(
      'raw_data',
      `${label} holds ${rawData.byteLength} bytes, but ${dtype} [${shape.join(', ')}] needs ${expectedBytes}`,
    );
  }
  return { name, dtype, shape, rawData };
}

/** Copies an inline decoded tensor into a `Tensor` with properly aligned storage. */
export function decodedToTensor(decoded: DecodedTensor): Tensor {
  if (decoded.rawData === undefined) {
    throw new InvalidArgumentError(
      'decoded',
      `tensor "${decoded.name}" is stored in external data (${decoded.externalData?.location}); read its bytes from that file`,
    );
  }
  let count = 1;
  for (const dimension of decoded.shape) {
    count *= dimension;
  }
  const storage = allocateStorage(decoded.dtype, count);
  new Uint8Array(storage.buffer, storage.byteOffset, storage.byteLength).set(decoded.rawData);
  return { dtype: decoded.dtype, shape: [...decoded.shape], data: storage };
}

function inferAttributeType(tag: FieldTag | undefined): number {
  switch (tag?.field) {
    case AttributeProtoField.f:
      return AttributeProtoType.float;
    case AttributeProtoField.i:
      return AttributeProtoType.int;
    case AttributeProtoField.s:
      return AttributeProtoType.string;
    case AttributeProtoField.t:
      return AttributeProtoType.tensor;
    case AttributeProtoField.floats:
      return AttributeProtoType.floats;
    case AttributeProtoField.ints:
      return AttributeProtoType.ints;
    case AttributeProtoField.strings:
      return AttributeProtoType.strings;
    default:
      return AttributeProtoType.undefined;
  }
}

function readAttribute(reader: ProtobufReader): DecodedAttribute {
  let name = '';
  let type: number | undefined;
  let firstValueTag: FieldTag | undefined;
  let float = 0;
  let int = 0n;
  let string = '';
  let tensor: DecodedTensor | undefined;
  const floats: number[] = [];
  const ints: bigint[] = [];
  const strings: string[] = [];
  while (!reader.atEnd) {
    const tag = reader.readTag();
    if (tag.field !== AttributeProtoField.name && tag.field !== AttributeProtoField.type) {
      firstValueTag ??= tag;
    }
    switch (tag.field) {
      case AttributeProtoField.name:
        reader.expectWireType(tag, WireType.lengthDelimited, 'name');
        name = reader.readString('name');
        break;
      case AttributeProtoField.type:
        reader.expectWireType(tag, WireType.varint, 'type');
        type = reader.readVarintNumber('type');
        break;
      case AttributeProtoField.f:
        reader.expectWireType(tag, WireType.fixed32, 'f');
        float = reader.readFloat('f');
        break;
      case AttributeProtoField.i:
        reader.expectWireType(tag, WireType.varint, 'i');
        int = reader.readVarintSigned('i');
        break;
      case AttributeProtoField.s:
        reader.expectWireType(tag, WireType.lengthDelimited, 's');
        string = reader.readString('s');
        break;
      case AttributeProtoField.t:
        reader.expectWireType(tag, WireType.lengthDelimited, 't');
        tensor = readTensor(reader.readMessage('t', `attribute "${name}" TensorProto`));
        break;
      case AttributeProtoField.floats:
        readRepeated(reader, tag, WireType.fixed32, 'floats', (source) => source.readFloat('floats'), floats);
        break;
      case AttributeProtoField.ints:
        readRepeated(reader, tag, WireType.varint, 'ints', (source) => source.readVarintSigned('ints'), ints);
        break;
      case AttributeProtoField.strings:
        reader.expectWireType(tag, WireType.lengthDelimited, 'strings');
        strings.push(reader.readString('strings'));
        break;
      default:
        reader.skip(tag);
    }
  }
  // IR version 1 had no type field; the value field in use tells the type then.
  const resolvedType = type ?? inferAttributeType(firstValueTag);
  switch (resolvedType) {
    case AttributeProtoType.float:
      return { name, type: 'float', value: float };
    case AttributeProtoType.int:
      return { name, type: 'int', value: int };
    case AttributeProtoType.string:
      return { name, type: 'string', value: string };
    case AttributeProtoType.tensor:
      if (tensor === undefined) {
        throw reader.error('t', `attribute "${name}" is of type TENSOR but holds no tensor`);
      }
      if (tensor.rawData === undefined) {
        throw reader.error(
          't',
          `attribute "${name}" refers to external data, which ptq does not read in attributes`,
        );
      }
      return { name, type: 'tensor', value: decodedToTensor(tensor) };
    case AttributeProtoType.floats:
      return { name, type: 'floats', value: floats };
    case AttributeProtoType.ints:
      return { name, type: 'ints', value: ints };
    case AttributeProtoType.strings:
      return { name, type: 'strings', value: strings };
    default:
      return { name, type: 'unsupported', attributeType: resolvedType };
  }
}

function readNode(reader: ProtobufReader): DecodedNode {
  const inputs: string[] = [];
  const outputs: string[] = [];
  const attributes: DecodedAttribute[] = [];
  let name = '';
  let opType = '';
  let domain = '';
  while (!reader.atEnd) {
    const tag = reader.readTag();
    switch (tag.field) {
      case NodeProtoField.input:
        reader.expectWireType(tag, WireType.lengthDelimited, 'input');
        inputs.push(reader.readString('input'));
        break;
      case NodeProtoField.output:
        reader.expectWireType(tag, WireType.lengthDelimited, 'output');
        outputs.push(reader.readString('output'));
        break;
      case NodeProtoField.name:
        reader.expectWireType(tag, WireType.lengthDelimited, 'name');
        name = reader.readString('name');
        break;
      case NodeProtoField.opType:
        reader.expectWireType(tag, WireType.lengthDelimited, 'op_type');
        opType = reader.readString('op_type');
        break;
      case NodeProtoField.domain:
        reader.expectWireType(tag, WireType.lengthDelimited, 'domain');
        domain = reader.readString('domain');
        break;
      case NodeProtoField.attribute:
        reader.expectWireType(tag, WireType.lengthDelimited, 'attribute');
        attributes.push(readAttribute(reader.readMessage('attribute', `node "${name}" AttributeProto`)));
        break;
      default:
        reader.skip(tag);
    }
  }
  return { opType, domain, name, inputs, outputs, attributes };
}

function readDimension(reader: ProtobufReader): Dimension {
  let dimension: Dimension = '';
  while (!reader.atEnd) {
    const tag = reader.readTag();
    if (tag.field === DimensionField.dimValue) {
      reader.expectWireType(tag, WireType.varint, 'dim_value');
      dimension = reader.readVarintNumber('dim_value');
    } else if (tag.field === DimensionField.dimParam) {
      reader.expectWireType(tag, WireType.lengthDelimited, 'dim_param');
      dimension = reader.readString('dim_param');
    } else {
      reader.skip(tag);
    }
  }
  return dimension;
}

function readShape(reader: ProtobufReader): Dimension[] {
  const shape: Dimension[] = [];
  while (!reader.atEnd) {
    const tag = reader.readTag();
    if (tag.field === TensorShapeProtoField.dim) {
      reader.expectWireType(tag, WireType.lengthDelimited, 'dim');
      shape.push(readDimension(reader.readMessage('dim', 'TensorShapeProto.Dimension')));
    } else {
      reader.skip(tag);
    }
  }
  return shape;
}

function readTensorType(reader: ProtobufReader): { elemType: number; shape: Dimension[] | undefined } {
  let elemType = 0;
  let shape: Dimension[] | undefined;
  while (!reader.atEnd) {
    const tag = reader.readTag();
    if (tag.field === TypeProtoTensorField.elemType) {
      reader.expectWireType(tag, WireType.varint, 'elem_type');
      elemType = reader.readVarintNumber('elem_type');
    } else if (tag.field === TypeProtoTensorField.shape) {
      reader.expectWireType(tag, WireType.lengthDelimited, 'shape');
      shape = readShape(reader.readMessage('shape', 'TensorShapeProto'));
    } else {
      reader.skip(tag);
    }
  }
  return { elemType, shape };
}

function readValueInfo(reader: ProtobufReader): DecodedValueInfo {
  let name = '';
  let tensorType: { elemType: number; shape: Dimension[] | undefined } | undefined;
  while (!reader.atEnd) {
    const tag = reader.readTag();
    if (tag.field === ValueInfoProtoField.name) {
      reader.expectWireType(tag, WireType.lengthDelimited, 'name');
      name = reader.readString('name');
    } else if (tag.field === ValueInfoProtoField.type) {
      reader.expectWireType(tag, WireType.lengthDelimited, 'type');
      const typeReader = reader.readMessage('type', `value "${name}" TypeProto`);
      while (!typeReader.atEnd) {
        const typeTag = typeReader.readTag();
        if (typeTag.field === TypeProtoField.tensorType) {
          typeReader.expectWireType(typeTag, WireType.lengthDelimited, 'tensor_type');
          tensorType = readTensorType(
            typeReader.readMessage('tensor_type', `value "${name}" TypeProto.Tensor`),
          );
        } else {
          typeReader.skip(typeTag);
        }
      }
    } else {
      reader.skip(tag);
    }
  }
  if (tensorType === undefined) {
    throw reader.error('type', `value "${name}" is not declared as a tensor`);
  }
  const dtype = dtypeOfOnnxDataType(tensorType.elemType);
  if (dtype === undefined) {
    throw reader.error(
      'type',
      `value "${name}" has element type ${tensorType.elemType}, which ptq does not handle`,
    );
  }
  return { name, dtype, shape: tensorType.shape };
}

function readGraph(reader: ProtobufReader): DecodedModel['graph'] {
  let name = '';
  const inputs: DecodedValueInfo[] = [];
  const outputs: DecodedValueInfo[] = [];
  const initializers: DecodedTensor[] = [];
  const nodes: DecodedNode[] = [];
  while (!reader.atEnd) {
    const tag = reader.readTag();
    switch (tag.field) {
      case GraphProtoField.node:
        reader.expectWireType(tag, WireType.lengthDelimited, 'node');
        nodes.push(readNode(reader.readMessage('node', `GraphProto.node[${nodes.length}]`)));
        break;
      case GraphProtoField.name:
        reader.expectWireType(tag, WireType.lengthDelimited, 'name');
        name = reader.readString('name');
        break;
      case GraphProtoField.initializer:
        reader.expectWireType(tag, WireType.lengthDelimited, 'initializer');
        initializers.push(
          readTensor(reader.readMessage('initializer', `GraphProto.initializer[${initializers.length}]`)),
        );
        break;
      case GraphProtoField.input:
        reader.expectWireType(tag, WireType.lengthDelimited, 'input');
        inputs.push(readValueInfo(reader.readMessage('input', `GraphProto.input[${inputs.length}]`)));
        break;
      case GraphProtoField.output:
        reader.expectWireType(tag, WireType.lengthDelimited, 'output');
        outputs.push(readValueInfo(reader.readMessage('output', `GraphProto.output[${outputs.length}]`)));
        break;
      default:
        reader.skip(tag);
    }
  }
  return { name, inputs, outputs, initializers, nodes };
}

function readOpsetImport(reader: ProtobufReader): OpsetImport {
  let domain = '';
  let version = 0;
  while (!reader.atEnd) {
    const tag = reader.readTag();
    if (tag.field === OperatorSetIdProtoField.domain) {
      reader.expectWireType(tag, WireType.lengthDelimited, 'domain');
      domain = reader.readString('domain');
    } else if (tag.field === OperatorSetIdProtoField.version) {
      reader.expectWireType(tag, WireType.varint, 'version');
      version = reader.readVarintNumber('version');
    } else {
      reader.skip(tag);
    }
  }
  return { domain, version };
}

/**
 * Decodes `ModelProto` bytes into what ptq writes: graph name, opset imports, inputs and outputs,
 * nodes with their attributes, and initializers as stored (inline bytes as views into `bytes`, or
 * external-data references). Fields outside that subset are skipped; malformed bytes throw
 * `OnnxFormatError` naming the message, field and byte offset.
 */
export function decodeModel(bytes: Uint8Array, options: DecodeModelOptions = {}): DecodedModel {
  const reader = new ProtobufReader(bytes, options.file ?? 'ModelProto', 'ModelProto');
  let irVersion = 0;
  let producerName = '';
  let producerVersion = '';
  const opsetImports: OpsetImport[] = [];
  const metadata: Record<string, string> = {};
  let graph: DecodedModel['graph'] | undefined;
  while (!reader.atEnd) {
    const tag = reader.readTag();
    switch (tag.field) {
      case ModelProtoField.irVersion:
        reader.expectWireType(tag, WireType.varint, 'ir_version');
        irVersion = reader.readVarintNumber('ir_version');
        break;
      case ModelProtoField.producerName:
        reader.expectWireType(tag, WireType.lengthDelimited, 'producer_name');
        producerName = reader.readString('producer_name');
        break;
      case ModelProtoField.producerVersion:
        reader.expectWireType(tag, WireType.lengthDelimited, 'producer_version');
        producerVersion = reader.readString('producer_version');
        break;
      case ModelProtoField.graph:
        reader.expectWireType(tag, WireType.lengthDelimited, 'graph');
        graph = readGraph(reader.readMessage('graph', 'GraphProto'));
        break;
      case ModelProtoField.opsetImport:
        reader.expectWireType(tag, WireType.lengthDelimited, 'opset_import');
        opsetImports.push(readOpsetImport(reader.readMessage('opset_import', 'OperatorSetIdProto')));
        break;
      case ModelProtoField.metadataProps: {
        reader.expectWireType(tag, WireType.lengthDelimited, 'metadata_props');
        const [key, value] = readStringEntry(
          reader.readMessage('metadata_props', 'StringStringEntryProto'),
          'metadata_props',
        );
        metadata[key] = value;
        break;
      }
      default:
        reader.skip(tag);
    }
  }
  if (graph === undefined) {
    throw reader.error('graph', 'the model has no graph');
  }
  return { irVersion, producerName, producerVersion, opsetImports, metadata, graph };
}
