import { InvalidArgumentError } from '@ptq/errors';
import { createTensor, DTYPES, type DType, type Tensor } from '@ptq/tensor';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AttributeValue } from './attribute-value';
import { decodedToTensor, decodeModel } from './decode-model';
import { encodeModel } from './encode-model';
import { OnnxFormatError } from './errors';
import { GraphBuilder } from './graph-builder';
import type { Attribute, ModelDefinition } from './model-definition';
import { encodeMessage, type ProtobufSink } from './protobuf-writer';
import { serializeModel } from './serialize-model';

/** One small tensor of every dtype, with recognisable contents. */
function sampleTensor(dtype: DType): Tensor {
  switch (dtype) {
    case 'float32':
      return createTensor(dtype, [2, 2], new Float32Array([1.5, -2, 0, 3.25]));
    case 'float16':
    case 'bfloat16':
      return createTensor(dtype, [3], new Uint16Array([0x3c00, 0xc000, 0x7bff]));
    case 'float8e4m3fn':
    case 'uint8':
    case 'bool':
      return createTensor(dtype, [3], new Uint8Array([0, 1, dtype === 'bool' ? 1 : 0x7e]));
    case 'int8':
      return createTensor(dtype, [3], new Int8Array([-128, 0, 127]));
    case 'int4':
      // Five elements packed low nibble first: 1, -1 (0xf), -8 (0x8), 7, 2 (+ a zero pad nibble).
      return createTensor(dtype, [5], new Uint8Array([0xf1, 0x78, 0x02]));
    case 'int32':
      return createTensor(dtype, [2], new Int32Array([-(2 ** 31), 2 ** 31 - 1]));
    case 'int64':
      return createTensor(dtype, [2], new BigInt64Array([-(2n ** 63n), 2n ** 63n - 1n]));
  }
}

function buildAttributeModel(attributes: AttributeValue[]): ModelDefinition {
  const builder = new GraphBuilder({ name: 'attributes' });
  const x = builder.input('x', 'float32', [1]);
  const entries = Object.fromEntries(attributes.map((value, index) => [`a${index}`, value]));
  builder.output(builder.node('Custom', [x], entries), 'y', 'float32', [1]);
  return builder.build();
}

describe('decodeModel', () => {
  it('reads back the model header, graph interface and nodes', () => {
    const builder = new GraphBuilder({ name: 'header', metadata: { mode: 'int8', note: 'ünïcode ✓' } });
    const x = builder.input('input_ids', 'int64', ['batch', 'sequence']);
    const y = builder.nodeWithOutputs('TopK', [x, undefined], 2, { axis: -1 }, { name: 'topk' });
    builder.output(y[0]!, 'values', 'int64', ['batch', 1]);
    builder.output(y[1]!, 'indices', 'int64', ['batch', 1]);
    const decoded = decodeModel(serializeModel(builder.build()));
    expect(decoded.irVersion).toBe(10);
    expect(decoded.producerName).toBe('ptq');
    expect(decoded.producerVersion).toBe('');
    expect(decoded.opsetImports).toEqual([
      { domain: '', version: 21 },
      { domain: 'com.microsoft', version: 1 },
    ]);
    expect(decoded.metadata).toEqual({ mode: 'int8', note: 'ünïcode ✓' });
    expect(decoded.graph.name).toBe('header');
    expect(decoded.graph.inputs).toEqual([
      { name: 'input_ids', dtype: 'int64', shape: ['batch', 'sequence'] },
    ]);
    expect(decoded.graph.outputs).toEqual([
      { name: 'values', dtype: 'int64', shape: ['batch', 1] },
      { name: 'indices', dtype: 'int64', shape: ['batch', 1] },
    ]);
    expect(decoded.graph.nodes[0]).toEqual({
      opType: 'TopK',
      domain: '',
      name: 'topk',
      inputs: ['input_ids'],
      outputs: ['topk_output_0', 'topk_output_1'],
      attributes: [{ name: 'axis', type: 'int', value: -1n }],
    });
  });

  it('round-trips every attribute type', () => {
    const tensor = sampleTensor('float32');
    const model = buildAttributeModel([
      0.5,
      -7,
      2n ** 63n - 1n,
      -(2n ** 63n),
      'relu ✓',
      [1, -2, 3],
      [0.25, -1.5],
      ['a', '', 'ç'],
      tensor,
      { type: 'float', value: 2 },
      { type: 'int', value: 0 },
      { type: 'ints', value: [] },
      { type: 'floats', value: [] },
    ]);
    const decoded = decodeModel(serializeModel(model));
    expect(decoded.graph.nodes[0]!.attributes).toEqual([
      { name: 'a0', type: 'float', value: 0.5 },
      { name: 'a1', type: 'int', value: -7n },
      { name: 'a2', type: 'int', value: 2n ** 63n - 1n },
      { name: 'a3', type: 'int', value: -(2n ** 63n) },
      { name: 'a4', type: 'string', value: 'relu ✓' },
      { name: 'a5', type: 'ints', value: [1n, -2n, 3n] },
      { name: 'a6', type: 'floats', value: [0.25, -1.5] },
      { name: 'a7', type: 'strings', value: ['a', '', 'ç'] },
      { name: 'a8', type: 'tensor', value: tensor },
      { name: 'a9', type: 'float', value: 2 },
      { name: 'a10', type: 'int', value: 0n },
      { name: 'a11', type: 'ints', value: [] },
      { name: 'a12', type: 'floats', value: [] },
    ]);
  });

  it('stores float attributes as 32-bit floats', () => {
    const decoded = decodeModel(serializeModel(buildAttributeModel([0.1])));
    expect(decoded.graph.nodes[0]!.attributes[0]).toEqual({
      name: 'a0',
      type: 'float',
      value: Math.fround(0.1),
    });
  });

  it.each(DTYPES)('round-trips a %s initializer and a %s tensor attribute byte for byte', (dtype) => {
    const tensor = sampleTensor(dtype);
    const builder = new GraphBuilder({ name: 'dtypes' });
    const w = builder.initializer('w', tensor);
    builder.node('Custom', [w], { value: tensor });
    builder.output(w, 'w', dtype, [...tensor.shape]);
    const decoded = decodeModel(serializeModel(builder.build()));
    const [initializer] = decoded.graph.initializers;
    expect(initializer).toMatchObject({ name: 'w', dtype, shape: tensor.shape });
    expect(initializer!.externalData).toBeUndefined();
    expect(Buffer.from(initializer!.rawData!)).toEqual(
      Buffer.from(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength),
    );
    expect(decodedToTensor(initializer!)).toEqual(tensor);
    expect(decoded.graph.nodes[0]!.attributes[0]).toEqual({ name: 'value', type: 'tensor', value: tensor });
    expect(decoded.graph.outputs[0]).toEqual({ name: 'w', dtype, shape: tensor.shape });
  });

  it('decodes an unknown-size dimension as "" and writes "" back as one', () => {
    const builder = new GraphBuilder({ name: 'g' });
    const x = builder.input('x', 'float32', ['', 3, 'n']);
    builder.output(x, 'x', 'float32', ['', 3, 'n']);
    expect(decodeModel(serializeModel(builder.build())).graph.inputs[0]!.shape).toEqual(['', 3, 'n']);
  });

  it('round-trips random graphs (property)', () => {
    const name = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 8 });
    const attributeValue = fc.oneof(
      fc.integer({ min: -(2 ** 31), max: 2 ** 31 }),
      fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
      fc.float({ noNaN: true, noDefaultInfinity: true }).filter((value) => !Number.isInteger(value)),
      fc.string({ unit: 'grapheme' }),
      fc.array(fc.integer(), { minLength: 1 }),
      fc.array(fc.string(), { minLength: 1 }),
    );
    const dimension = fc.oneof(fc.nat({ max: 4096 }), fc.constantFrom('batch', 'sequence', 'past'));
    fc.assert(
      fc.property(
        name,
        fc.uniqueArray(fc.tuple(name, attributeValue), { selector: ([key]) => key, maxLength: 6 }),
        fc.array(dimension, { maxLength: 4 }),
        fc.constantFrom(...DTYPES),
        (graphName, attributes, shape, dtype) => {
          const builder = new GraphBuilder({ name: graphName });
          const x = builder.input('x', dtype, shape);
          const y = builder.node('Custom', [x], Object.fromEntries(attributes), { domain: 'com.microsoft' });
          builder.output(y, 'y', dtype, shape);
          const model = builder.build();
          const decoded = decodeModel(serializeModel(model));
          expect(decoded.graph.name).toBe(graphName);
          expect(decoded.graph.inputs).toEqual(model.graph.inputs);
          expect(decoded.graph.outputs).toEqual(model.graph.outputs);
          const expected: Attribute[] = model.graph.nodes[0]!.attributes.map((attribute) =>
            attribute.type === 'float' ? { ...attribute, value: Math.fround(attribute.value) } : attribute,
          );
          expect(decoded.graph.nodes[0]!.attributes).toEqual(expected);
          expect(decoded.graph.nodes.map(({ attributes: _, ...node }) => node)).toEqual(
            model.graph.nodes.map(({ attributes: _, ...node }) => node),
          );
        },
      ),
      { numRuns: 200 },
    );
  });
});

/** Hand-encodes a model whose single initializer `w` is written by `tensor`. */
function modelWithTensor(tensor: (sink: ProtobufSink) => void): Uint8Array {
  return encodeMessage((sink) => {
    sink.varint(1, 10);
    sink.message(7, () => {
      sink.string(2, 'g');
      sink.message(5, () => tensor(sink));
    });
  });
}

describe('decodeModel of encodings other writers use', () => {
  it('reads float_data, int32_data and int64_data, packed or not', () => {
    const floats = decodeModel(
      modelWithTensor((sink) => {
        sink.varint(1, 2);
        sink.varint(2, 1);
        sink.string(8, 'w');
        // float_data (4) packed: two floats in one length-delimited run.
        sink.bytes(4, new Uint8Array(new Float32Array([1.5, -2]).buffer));
      }),
    ).graph.initializers[0]!;
    expect(decodedToTensor(floats)).toEqual(createTensor('float32', [2], new Float32Array([1.5, -2])));

    const float16 = decodeModel(
      modelWithTensor((sink) => {
        sink.varint(1, 2);
        sink.varint(2, 10);
        // int32_data (5) unpacked: one float16 bit pattern per entry.
        sink.varint(5, 0x3c00);
        sink.varint(5, 0xc000);
      }),
    ).graph.initializers[0]!;
    expect(decodedToTensor(float16)).toEqual(createTensor('float16', [2], new Uint16Array([0x3c00, 0xc000])));

    const int8 = decodeModel(
      modelWithTensor((sink) => {
        sink.varint(1, 2);
        sink.varint(2, 3);
        sink.varint(5, -128);
        sink.varint(5, 127);
      }),
    ).graph.initializers[0]!;
    expect(decodedToTensor(int8)).toEqual(createTensor('int8', [2], new Int8Array([-128, 127])));

    const int64 = decodeModel(
      modelWithTensor((sink) => {
        sink.varint(1, 1);
        sink.varint(2, 7);
        sink.varint(7, -(2n ** 40n));
      }),
    ).graph.initializers[0]!;
    expect(decodedToTensor(int64)).toEqual(createTensor('int64', [1], new BigInt64Array([-(2n ** 40n)])));
  });

  it('infers an attribute type from its value field when the type field is absent (IR version 1)', () => {
    const bytes = encodeMessage((sink) => {
      sink.message(7, () => {
        sink.message(1, () => {
          sink.string(4, 'Custom');
          sink.message(5, () => {
            sink.string(1, 'alpha');
            sink.float(2, 0.5);
          });
          sink.message(5, () => {
            sink.string(1, 'body');
            sink.message(6, () => {});
            sink.varint(20, 5);
          });
        });
      });
    });
    expect(decodeModel(bytes).graph.nodes[0]!.attributes).toEqual([
      { name: 'alpha', type: 'float', value: 0.5 },
      { name: 'body', type: 'unsupported', attributeType: 5 },
    ]);
  });

  it('reads an external data reference without a length', () => {
    const decoded = decodeModel(
      modelWithTensor((sink) => {
        sink.varint(1, 4);
        sink.varint(2, 1);
        sink.string(8, 'w');
        sink.message(13, () => {
          sink.string(1, 'location');
          sink.string(2, 'weights.bin');
        });
        sink.varint(14, 1);
      }),
    ).graph.initializers[0]!;
    expect(decoded).toEqual({
      name: 'w',
      dtype: 'float32',
      shape: [4],
      externalData: { location: 'weights.bin', offset: 0, length: undefined },
    });
    expect(() => decodedToTensor(decoded)).toThrow(InvalidArgumentError);
    expect(() => decodedToTensor(decoded)).toThrow('tensor "w" is stored in external data (weights.bin)');
  });
});

describe('decodeModel bad input', () => {
  function expectFormatError(bytes: Uint8Array, message: string): void {
    try {
      decodeModel(bytes, { file: 'broken.onnx' });
    } catch (error) {
      expect(error).toBeInstanceOf(OnnxFormatError);
      expect((error as OnnxFormatError).code).toBe('PTQ_ONNX_FORMAT');
      expect((error as OnnxFormatError).file).toBe('broken.onnx');
      expect((error as Error).message).toContain(message);
      return;
    }
    throw new Error(`expected OnnxFormatError: ${message}`);
  }

  const valid = (() => {
    const builder = new GraphBuilder({ name: 'g' });
    const w = builder.initializer('w', createTensor('float32', [4]));
    builder.output(w, 'w', 'float32', [4]);
    return serializeModel(builder.build());
  })();

  it('rejects every truncation of a valid model', () => {
    // Cutting inside any nested message leaves a length that runs past the end of its parent.
    for (let length = 1; length < valid.length; length++) {
      const truncated = valid.subarray(0, length);
      let threw = false;
      try {
        decodeModel(truncated);
      } catch (error) {
        expect(error).toBeInstanceOf(OnnxFormatError);
        threw = true;
      }
      // A cut that happens to fall between two top-level fields still decodes, if the graph is complete.
      if (!threw) {
        expect(decodeModel(truncated).graph.initializers).toHaveLength(1);
      }
    }
  });

  it('rejects a model without a graph', () => {
    expectFormatError(
      encodeMessage((sink) => sink.varint(1, 10)),
      'broken.onnx: ModelProto field graph (byte 2): the model has no graph',
    );
  });

  it('rejects raw data whose length does not match dtype and shape', () => {
    expectFormatError(
      modelWithTensor((sink) => {
        sink.varint(1, 3);
        sink.varint(2, 1);
        sink.string(8, 'w');
        sink.bytes(9, new Uint8Array(10));
      }),
      'tensor "w" holds 10 bytes, but float32 [3] needs 12',
    );
  });

  it('rejects a data type ptq does not handle', () => {
    expectFormatError(
      modelWithTensor((sink) => {
        sink.varint(2, 11);
        sink.string(8, 'w');
      }),
      'tensor "w" has data type 11, which ptq does not handle',
    );
  });

  it('rejects external data without a location, or with a bad offset or length', () => {
    expectFormatError(
      modelWithTensor((sink) => {
        sink.varint(2, 1);
        sink.string(8, 'w');
        sink.varint(14, 1);
      }),
      'tensor "w" is stored externally but names no location',
    );
    expectFormatError(
      modelWithTensor((sink) => {
        sink.varint(2, 1);
        sink.message(13, () => {
          sink.string(1, 'location');
          sink.string(2, 'data');
        });
        sink.message(13, () => {
          sink.string(1, 'offset');
          sink.string(2, '-4');
        });
        sink.varint(14, 1);
      }),
      '"offset" must be a non-negative decimal integer, got "-4"',
    );
    expectFormatError(
      modelWithTensor((sink) => {
        sink.varint(1, 2);
        sink.varint(2, 1);
        sink.string(8, 'w');
        sink.message(13, () => {
          sink.string(1, 'location');
          sink.string(2, 'data');
        });
        sink.message(13, () => {
          sink.string(1, 'length');
          sink.string(2, '4');
        });
        sink.varint(14, 1);
      }),
      'tensor "w" external length 4 does not match 8 bytes of float32 [2]',
    );
  });

  it('rejects a graph input that is not a tensor, or of an unhandled element type', () => {
    const input = (typeBody: (sink: ProtobufSink) => void) =>
      encodeMessage((sink) => {
        sink.message(7, () => {
          sink.message(11, () => {
            sink.string(1, 'x');
            sink.message(2, () => typeBody(sink));
          });
        });
      });
    // TypeProto.sequence_type (4).
    expectFormatError(
      input((sink) => sink.message(4, () => {})),
      'value "x" is not declared as a tensor',
    );
    expectFormatError(
      input((sink) => sink.message(1, () => sink.varint(1, 11))),
      'value "x" has element type 11, which ptq does not handle',
    );
  });

  it('names the nested message and whole-file offset of a broken field', () => {
    const bytes = encodeMessage((sink) => {
      sink.message(7, () => {
        sink.message(1, () => sink.varint(4, 1));
      });
    });
    // The node's op_type (4) arrives as a varint instead of a string, at byte 4 of the file.
    expectFormatError(
      bytes,
      'broken.onnx: GraphProto.node[0] field op_type (byte 5): wire type 0, expected 2',
    );
  });

  it('uses "ModelProto" as the file name when none is given', () => {
    expect(() => decodeModel(new Uint8Array([0x3a, 0x05]))).toThrow(
      'ModelProto: ModelProto field graph (byte 2): needs 5 bytes, only 0 are left in the message',
    );
  });

  it('skips fields outside the subset it reads', () => {
    const bytes = encodeMessage((sink) => {
      encodeModel(sink, {
        irVersion: 10,
        producerName: 'ptq',
        opsetImports: [{ domain: '', version: 21 }],
        graph: { name: 'g', inputs: [], outputs: [], initializers: [], nodes: [] },
      });
      sink.string(6, 'doc string'); // ModelProto.doc_string
      sink.varint(5, 3); // ModelProto.model_version
    });
    expect(decodeModel(bytes).graph.name).toBe('g');
  });
});
