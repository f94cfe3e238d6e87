import { type Tensor, tensorBytes } from '@ptq/tensor';
import { onnxDataTypeOf } from './data-types';
import type { Attribute, ModelDefinition, NodeDefinition, ValueInfo } from './model-definition';
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
import type { ProtobufSink } from './protobuf-writer';

/** Where an initializer's bytes live in the external data file. */
export interface ExternalDataPlacement {
  /** File name relative to the model file. */
  readonly location: string;
  readonly offset: number;
  readonly length: number;
}

function encodeStringEntry(sink: ProtobufSink, field: number, key: string, value: string): void {
  sink.message(field, () => {
    sink.string(StringStringEntryProtoField.key, key);
    sink.string(StringStringEntryProtoField.value, value);
  });
}

function encodeTensor(
  sink: ProtobufSink,
  tensor: Tensor,
  name?: string,
  placement?: ExternalDataPlacement,
): void {
  for (const dimension of tensor.shape) {
    sink.varint(TensorProtoField.dims, dimension);
  }
  sink.varint(TensorProtoField.dataType, onnxDataTypeOf(tensor.dtype));
  if (name !== undefined) {
    sink.string(TensorProtoField.name, name);
  }
  if (placement === undefined) {
    // Straight from the tensor's typed array; int4 storage is already packed low nibble first.
    sink.bytes(TensorProtoField.rawData, tensorBytes(tensor));
    return;
  }
  encodeStringEntry(sink, TensorProtoField.externalData, 'location', placement.location);
  encodeStringEntry(sink, TensorProtoField.externalData, 'offset', String(placement.offset));
  encodeStringEntry(sink, TensorProtoField.externalData, 'length', String(placement.length));
  sink.varint(TensorProtoField.dataLocation, DataLocation.external);
}

function encodeAttribute(sink: ProtobufSink, attribute: Attribute): void {
  sink.string(AttributeProtoField.name, attribute.name);
  switch (attribute.type) {
    case 'float':
      sink.float(AttributeProtoField.f, attribute.value);
      break;
    case 'int':
      sink.varint(AttributeProtoField.i, attribute.value);
      break;
    case 'string':
      sink.string(AttributeProtoField.s, attribute.value);
      break;
    case 'tensor':
      sink.message(AttributeProtoField.t, () => encodeTensor(sink, attribute.value));
      break;
    // Repeated scalars are written unpacked, as proto2 (which onnx.proto uses) declares them.
    case 'floats':
      for (const value of attribute.value) {
        sink.float(AttributeProtoField.floats, value);
      }
      break;
    case 'ints':
      for (const value of attribute.value) {
        sink.varint(AttributeProtoField.ints, value);
      }
      break;
    case 'strings':
      for (const value of attribute.value) {
        sink.string(AttributeProtoField.strings, value);
      }
      break;
  }
  sink.varint(AttributeProtoField.type, AttributeProtoType[attribute.type]);
}

function encodeNode(sink: ProtobufSink, node: NodeDefinition): void {
  for (const input of node.inputs) {
    sink.string(NodeProtoField.input, input);
  }
  for (const output of node.outputs) {
    sink.string(NodeProtoField.output, output);
  }
  if (node.name !== '') {
    sink.string(NodeProtoField.name, node.name);
  }
  sink.string(NodeProtoField.opType, node.opType);
  for (const attribute of node.attributes) {
    sink.message(NodeProtoField.attribute, () => encodeAttribute(sink, attribute));
  }
  if (node.domain !== '') {
    sink.string(NodeProtoField.domain, node.domain);
  }
}

function encodeValueInfo(sink: ProtobufSink, info: ValueInfo): void {
  sink.string(ValueInfoProtoField.name, info.name);
  sink.message(ValueInfoProtoField.type, () => {
    sink.message(TypeProtoField.tensorType, () => {
      sink.varint(TypeProtoTensorField.elemType, onnxDataTypeOf(info.dtype));
      // Written even when empty: an empty shape is a scalar, an absent one an unknown rank.
      sink.message(TypeProtoTensorField.shape, () => {
        for (const dimension of info.shape) {
          sink.message(TensorShapeProtoField.dim, () => {
            if (typeof dimension === 'number') {
              sink.varint(DimensionField.dimValue, dimension);
            } else if (dimension !== '') {
              sink.string(DimensionField.dimParam, dimension);
            }
            // "" leaves both fields unset: a dimension of unknown size with no name.
          });
        }
      });
    });
  });
}

/**
 * Writes a `ModelProto`. Initializers named in `placements` get external-data references instead
 * of `raw_data`.
 */
export function encodeModel(
  sink: ProtobufSink,
  model: ModelDefinition,
  placements: ReadonlyMap<string, ExternalDataPlacement> = new Map(),
): void {
  const { graph } = model;
  sink.varint(ModelProtoField.irVersion, model.irVersion);
  sink.string(ModelProtoField.producerName, model.producerName);
  sink.message(ModelProtoField.graph, () => {
    for (const node of graph.nodes) {
      sink.message(GraphProtoField.node, () => encodeNode(sink, node));
    }
    sink.string(GraphProtoField.name, graph.name);
    for (const initializer of graph.initializers) {
      sink.message(GraphProtoField.initializer, () =>
        encodeTensor(sink, initializer.tensor, initializer.name, placements.get(initializer.name)),
      );
    }
    for (const input of graph.inputs) {
      sink.message(GraphProtoField.input, () => encodeValueInfo(sink, input));
    }
    for (const output of graph.outputs) {
      sink.message(GraphProtoField.output, () => encodeValueInfo(sink, output));
    }
  });
  for (const opset of model.opsetImports) {
    sink.message(ModelProtoField.opsetImport, () => {
      sink.string(OperatorSetIdProtoField.domain, opset.domain);
      sink.varint(OperatorSetIdProtoField.version, opset.version);
    });
  }
  for (const [key, value] of Object.entries(model.metadata ?? {})) {
    encodeStringEntry(sink, ModelProtoField.metadataProps, key, value);
  }
}
