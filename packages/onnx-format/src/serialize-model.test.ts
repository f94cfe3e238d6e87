import { createTensor } from '@ptq/tensor';
import { describe, expect, it } from 'vitest';
import { OnnxGraphError, OnnxModelTooLargeError } from './errors';
import type { ModelDefinition } from './model-definition';
import { MAX_PROTOBUF_BYTES, serializeModel } from './serialize-model';

const tinyModel: ModelDefinition = {
  irVersion: 10,
  producerName: 'ptq',
  opsetImports: [{ domain: '', version: 21 }],
  graph: {
    name: 'g',
    inputs: [{ name: 'x', dtype: 'float32', shape: [2] }],
    outputs: [{ name: 'y', dtype: 'float32', shape: ['n'] }],
    initializers: [{ name: 'w', tensor: createTensor('int8', [2], new Int8Array([1, -1])) }],
    nodes: [
      {
        opType: 'Add',
        domain: '',
        name: '',
        inputs: ['x', 'w'],
        outputs: ['y'],
        attributes: [{ name: 'a', type: 'int', value: -1n }],
      },
    ],
  },
};

describe('serializeModel', () => {
  it('writes into a reused array the bytes it would return anew, growing the array when it must', () => {
    const expected = serializeModel(tinyModel);
    const reuse: { bytes?: Uint8Array } = {};
    const first = serializeModel(tinyModel, reuse);
    expect(first).toEqual(expected);
    expect(first.buffer).toBe(reuse.bytes!.buffer);
    const larger = new Uint8Array(expected.length + 9).fill(7);
    reuse.bytes = larger.subarray(3);
    const second = serializeModel(tinyModel, reuse);
    expect(second).toEqual(expected);
    expect(second.buffer).toBe(larger.buffer);
    expect(second.byteOffset).toBe(3);
    // The bytes after the model's are left as they were.
    expect([...larger.subarray(3 + expected.length)]).toEqual([7, 7, 7, 7, 7, 7]);
    reuse.bytes = new Uint8Array(expected.length - 1);
    const grown = serializeModel(tinyModel, reuse);
    expect(grown).toEqual(expected);
    expect(reuse.bytes.length).toBe(expected.length);
  });

  it('writes the ModelProto bytes derived by hand from onnx.proto', () => {
    // Each line: field (number, wire type) → bytes. Lengths counted by hand.
    const expected = [
      '080a', // ModelProto.ir_version (1, varint) = 10
      '1203707471', // producer_name (2) = "ptq"
      '3a56', // graph (7), 86 bytes:
      '0a21', //   node (1), 33 bytes:
      '0a0178', //     input "x"
      '0a0177', //     input "w"
      '120179', //     output "y"
      '2203416464', //     op_type (4) "Add"
      '2a11', //     attribute (5), 17 bytes:
      '0a0161', //       name "a"
      '18ffffffffffffffffff01', //       i (3) = -1 as ten-byte two's complement
      'a00102', //       type (20) = INT (2); key 160 is a two-byte varint
      '120167', //   name (2) "g"
      '2a0b', //   initializer (5), 11 bytes:
      '0802', //     dims (1) = 2
      '1003', //     data_type (2) = INT8 (3)
      '420177', //     name (8) "w"
      '4a0201ff', //     raw_data (9) = [1, -1]
      '5a0f', //   input (11), 15 bytes:
      '0a0178', //     name "x"
      '120a', //     type (2), 10 bytes:
      '0a08', //       tensor_type (1), 8 bytes:
      '0801', //         elem_type (1) = FLOAT (1)
      '1204', //         shape (2), 4 bytes:
      '0a020802', //           dim (1) { dim_value (1) = 2 }
      '6210', //   output (12), 16 bytes:
      '0a0179', //     name "y"
      '120b0a09080112050a0312016e', //     type { tensor_type { elem_type 1, shape { dim { dim_param (2) "n" } } } }
      '42040a001015', // opset_import (8) { domain "", version 21 }
    ].join('');
    expect(Buffer.from(serializeModel(tinyModel)).toString('hex')).toBe(expected);
  });

  it('writes an empty shape for scalars, so onnxruntime sees rank 0 rather than an unknown rank', () => {
    const model: ModelDefinition = {
      ...tinyModel,
      graph: {
        name: '',
        inputs: [{ name: 'x', dtype: 'float32', shape: [] }],
        outputs: [{ name: 'x', dtype: 'float32', shape: [] }],
        initializers: [],
        nodes: [],
      },
    };
    const bytes = Buffer.from(serializeModel(model)).toString('hex');
    // input (11) { name "x", type { tensor_type { elem_type 1, shape (2) {} } } }: "1200" is the empty shape.
    expect(bytes).toContain('5a0b0a017812060a0408011200');
  });

  it('validates the definition before encoding', () => {
    const broken: ModelDefinition = {
      ...tinyModel,
      graph: { ...tinyModel.graph, nodes: [{ ...tinyModel.graph.nodes[0]!, inputs: ['x', 'missing'] }] },
    };
    expect(() => serializeModel(broken)).toThrow(OnnxGraphError);
    expect(() => serializeModel(broken)).toThrow(
      'graph "g" node #0 (Add): input 1 "missing" is not a graph input, an initializer or an output of an earlier node',
    );
  });

  it('refuses models over 2 GiB before allocating, pointing to writeModel with external data', () => {
    // 33 initializers share one 64 MiB buffer: 2.06 GiB to encode, 64 MiB actually allocated.
    const block = createTensor('uint8', [64 * 1024 * 1024]);
    const initializers = Array.from({ length: 33 }, (_, index) => ({ name: `w${index}`, tensor: block }));
    const model: ModelDefinition = {
      ...tinyModel,
      graph: {
        ...tinyModel.graph,
        initializers,
        nodes: [],
        outputs: [{ name: 'x', dtype: 'float32', shape: [2] }],
      },
    };
    let error: unknown;
    try {
      serializeModel(model);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(OnnxModelTooLargeError);
    const tooLarge = error as OnnxModelTooLargeError;
    expect(tooLarge.code).toBe('PTQ_ONNX_MODEL_TOO_LARGE');
    expect(tooLarge.byteLength).toBeGreaterThan(MAX_PROTOBUF_BYTES);
    expect(tooLarge.byteLength).toBeGreaterThan(33 * 64 * 1024 * 1024);
    expect(tooLarge.message).toContain(`over the protobuf limit of ${MAX_PROTOBUF_BYTES} bytes`);
    expect(tooLarge.message).toContain('writeModel(model, path, { externalData: true })');
  });
});
