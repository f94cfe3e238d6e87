import { type DecodedModel, decodeModel, serializeModel } from '@ptq/onnx-format';
import { createTensor, toFloat32 } from '@ptq/tensor';
import { describe, expect, it } from 'vitest';
import { tinyModel } from '../__fixtures__/tiny-model';
import type { QuantMode } from '../config';
import { buildGptGraph } from './build-gpt-graph';
import type { WeightFormat } from './weight-format';

function decoded(
  mode: QuantMode | undefined,
  weightFormat?: WeightFormat,
  embeddingSize = 128,
): DecodedModel {
  const model = tinyModel({ quantMode: mode, embeddingSize });
  return decodeModel(serializeModel(buildGptGraph(model, { weightFormat })));
}

function opCounts(model: DecodedModel): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const node of model.graph.nodes) counts[node.opType] = (counts[node.opType] ?? 0) + 1;
  return counts;
}

function initializer(model: DecodedModel, name: string) {
  const found = model.graph.initializers.find((entry) => entry.name === name);
  if (found === undefined) throw new Error(`no initializer ${name}`);
  return found;
}

describe('buildGptGraph', () => {
  it('has the transformers.js decoder inputs and outputs', () => {
    const { graph } = decoded(undefined);
    expect(graph.inputs.map(({ name, dtype, shape }) => [name, dtype, shape])).toEqual([
      ['input_ids', 'int64', ['batch_size', 'sequence_length']],
      ['attention_mask', 'int64', ['batch_size', 'total_sequence_length']],
      ['position_ids', 'int64', ['batch_size', 'sequence_length']],
      ['past_key_values.0.key', 'float32', ['batch_size', 4, 'past_sequence_length', 32]],
      ['past_key_values.1.key', 'float32', ['batch_size', 4, 'past_sequence_length', 32]],
      ['past_key_values.0.value', 'float32', ['batch_size', 4, 'past_sequence_length', 32]],
      ['past_key_values.1.value', 'float32', ['batch_size', 4, 'past_sequence_length', 32]],
    ]);
    expect(graph.outputs.map(({ name, dtype, shape }) => [name, dtype, shape])).toEqual([
      ['logits', 'float32', ['batch_size', 'sequence_length', 96]],
      ['present.0.key', 'float32', ['batch_size', 4, 'total_sequence_length', 32]],
      ['present.0.value', 'float32', ['batch_size', 4, 'total_sequence_length', 32]],
      ['present.1.key', 'float32', ['batch_size', 4, 'total_sequence_length', 32]],
      ['present.1.value', 'float32', ['batch_size', 4, 'total_sequence_length', 32]],
    ]);
  });

  it('reads a tied, unquantized head from the embedding with Gemm transB, without a copy', () => {
    const model = decoded(undefined);
    const gemm = model.graph.nodes.filter((node) => node.opType === 'Gemm');
    expect(gemm).toHaveLength(1);
    expect(gemm[0]!.inputs[1]).toBe('transformer.wte.weight');
    expect(gemm[0]!.attributes).toContainEqual({ name: 'transB', type: 'int', value: 1n });
    expect(model.graph.initializers.some((entry) => entry.name.startsWith('lm_head'))).toBe(false);
    // Unquantized linears: MatMul on [in, out] float weights.
    expect(initializer(model, 'transformer.h.0.mlp.c_fc.weight').shape).toEqual([128, 512]);
  });

  it.each<[QuantMode, WeightFormat, Record<string, number>, Record<string, [string, number[]]>]>([
    [
      'int4-weight-only',
      'matmul-nbits',
      { MatMulNBits: 8, DequantizeLinear: 0 },
      {
        // [N, blocks, 128 · 4 / 8 bytes]; scales [N · blocks] in ModelOpt's (o, block) order.
        'transformer.h.0.attn.c_attn.weight_packed': ['uint8', [384, 1, 64]],
        'transformer.h.0.attn.c_attn.weight_scale': ['float32', [384]],
        'transformer.h.0.mlp.c_proj.weight_packed': ['uint8', [128, 4, 64]],
        'transformer.h.0.mlp.c_proj.weight_scale': ['float32', [512]],
      },
    ],
    [
      'int4-weight-only',
      'dequantize-linear',
      { MatMulNBits: 0, DequantizeLinear: 8 },
      {
        'transformer.h.0.mlp.c_proj.weight_codes': ['int4', [512, 128]],
        'transformer.h.0.mlp.c_proj.weight_scale': ['float32', [4, 128]],
      },
    ],
    [
      'int8-weight-only',
      'matmul-nbits',
      { MatMulNBits: 8, DequantizeLinear: 0 },
      {
        // Per-channel scales repeated over the blocks of 128 of each row.
        'transformer.h.0.mlp.c_proj.weight_packed': ['uint8', [128, 4, 128]],
        'transformer.h.0.mlp.c_proj.weight_scale': ['float32', [512]],
      },
    ],
    [
      'int8-weight-only',
      'dequantize-linear',
      { MatMulNBits: 0, DequantizeLinear: 8 },
      {
        'transformer.h.0.attn.c_attn.weight_codes': ['int8', [128, 384]],
        'transformer.h.0.attn.c_attn.weight_scale': ['float32', [384]],
      },
    ],
    [
      'float8',
      'dequantize-linear',
      { DequantizeLinear: 9, Gemm: 0 },
      {
        'transformer.h.0.attn.c_attn.weight_codes': ['float8e4m3fn', [128, 384]],
        'lm_head.weight_codes': ['float8e4m3fn', [128, 96]],
        'lm_head.weight_scale': ['float32', []],
      },
    ],
    [
      'float8',
      'lookup',
      { DequantizeLinear: 0, Gemm: 0 },
      {
        'transformer.h.0.attn.c_attn.weight_codes': ['uint8', [128, 384]],
        'transformer.h.0.attn.c_attn.weight_table': ['float32', [256]],
        'lm_head.weight_table': ['float32', [256]],
      },
    ],
  ])('%s with %s keeps weights compact', (mode, format, ops, expected) => {
    const model = decoded(mode, format);
    const counts = opCounts(model);
    for (const [op, count] of Object.entries(ops)) expect(counts[op] ?? 0, op).toBe(count);
    for (const [name, [dtype, shape]] of Object.entries(expected)) {
      const entry = initializer(model, name);
      expect([entry.dtype, entry.shape], name).toEqual([dtype, shape]);
    }
    // No quantized linear keeps a float weight matrix.
    const floatWeights = model.graph.initializers.filter(
      (entry) => entry.name.endsWith('.weight') && entry.name.includes('.h.') && entry.shape.length === 2,
    );
    expect(floatWeights).toEqual([]);
    if (mode === 'float8') {
      // Inputs of all 9 linears (lm_head included) are fake-quantized (one Clip to ±448 each), with
      // no QuantizeLinear (the CPU's QDQ fusion) and no Round (WebGPU has none).
      expect(counts.Clip).toBe(9);
      expect(counts.QuantizeLinear ?? 0).toBe(0);
      expect(counts.Round ?? 0).toBe(0);
    }
  });

  it.each<WeightFormat>(['lookup', 'dequantize-linear'])(
    'folds float8 input scales into the %s weight scale in fused graphs, one Mul fewer per linear',
    (weightFormat) => {
      const model = tinyModel({ quantMode: 'float8' });
      const graphOf = (operators: 'fused' | 'standard') =>
        decodeModel(serializeModel(buildGptGraph(model, { operators, weightFormat })));
      const fused = graphOf('fused');
      const standard = graphOf('standard');
      const floats = (graph: DecodedModel, name: string) => {
        const { rawData } = initializer(graph, name);
        return new Float32Array(rawData!.slice().buffer);
      };
      const linear = model.transformer.h[0]!.mlp.c_fc;
      const weightScale = toFloat32(linear.weight_scale!)[0]!;
      const inputScale = toFloat32(linear.input_scale!)[0]!;
      const name =
        weightFormat === 'lookup'
          ? 'transformer.h.0.mlp.c_fc.weight_table'
          : 'transformer.h.0.mlp.c_fc.weight_scale';
      const code = 0x5b; // 2^4 · 1.375
      const index = weightFormat === 'lookup' ? code : 0;
      const value = weightFormat === 'lookup' ? 22 : 1;
      expect(floats(standard, name)[index]).toBe(Math.fround(value * weightScale));
      expect(floats(fused, name)[index]).toBe(Math.fround(value * weightScale * inputScale));
      // Both graphs fake-quantize the inputs of all 9 linears; the fused one never multiplies back.
      // The fake quantization's last op multiplies its Where by the scale, in standard graphs only.
      const rescales = (graph: DecodedModel) => {
        const wheres = new Set(
          graph.graph.nodes.filter((node) => node.opType === 'Where').flatMap((node) => node.outputs),
        );
        return graph.graph.nodes.filter((node) => node.opType === 'Mul' && wheres.has(node.inputs[0]!))
          .length;
      };
      expect(opCounts(fused).Clip).toBe(9);
      expect([rescales(standard), rescales(fused)]).toEqual([9, 0]);
    },
  );

  it('folds pre_quant_scale into ln_1 / ln_2 and multiplies the c_proj inputs', () => {
    const model = tinyModel({ quantMode: 'int4-weight-only' });
    const block = model.transformer.h[0]!;
    const scale = Float32Array.from({ length: 128 }, (_, index) => 0.5 + index / 128);
    block.attn.c_attn.pre_quant_scale = createTensor('float32', [128], scale);
    const graph = decodeModel(serializeModel(buildGptGraph(model, { weightFormat: 'matmul-nbits' })));
    const raw = initializer(graph, 'transformer.h.0.ln_1.weight').rawData!;
    const folded = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
    const weight = toFloat32(block.ln_1.weight);
    expect(Array.from(folded)).toEqual(
      Array.from(weight, (value, index) => Math.fround(value * scale[index]!)),
    );
    const rawBias = initializer(graph, 'transformer.h.0.ln_1.bias').rawData!;
    const foldedBias = new Float32Array(
      rawBias.buffer.slice(rawBias.byteOffset, rawBias.byteOffset + rawBias.byteLength),
    );
    const bias = toFloat32(block.ln_1.bias!);
    expect(Array.from(foldedBias)).toEqual(
      Array.from(bias, (value, index) => Math.fround(value * scale[index]!)),
    );
    const names = graph.graph.initializers.map((entry) => entry.name);
    expect(names).not.toContain('transformer.h.0.attn.c_attn.pre_quant_scale');
    expect(names).not.toContain('transformer.h.0.mlp.c_fc.pre_quant_scale');
    expect(names).toContain('transformer.h.0.attn.c_proj.pre_quant_scale');
    expect(names).toContain('transformer.h.0.mlp.c_proj.pre_quant_scale');

    const unfolded = decodeModel(
      serializeModel(buildGptGraph(model, { weightFormat: 'matmul-nbits', foldPreQuantScale: false })),
    );
    const unfoldedNames = unfolded.graph.initializers.map((entry) => entry.name);
    expect(unfoldedNames).toContain('transformer.h.0.attn.c_attn.pre_quant_scale');
    expect(unfoldedNames).toContain('transformer.h.1.mlp.c_fc.pre_quant_scale');
  });

  it('folds attn.c_proj pre_quant_scale into the value rows of c_attn in fused graphs', () => {
    const model = tinyModel({ quantMode: 'int4-weight-only' });
    const block = model.transformer.h[0]!;
    const scale = Float32Array.from({ length: 128 }, (_, index) => 0.5 + index / 128);
    block.attn.c_proj.pre_quant_scale = createTensor('float32', [128], scale);
    const fused = decodeModel(
      serializeModel(buildGptGraph(model, { weightFormat: 'matmul-nbits', operators: 'fused' })),
    );
    const standard = decodeModel(serializeModel(buildGptGraph(model, { weightFormat: 'matmul-nbits' })));
    const floats = (graph: typeof fused, name: string) => {
      const raw = initializer(graph, name).rawData!;
      return new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
    };
    // Scales are [out, blocks] (one block of 128 per row here): value rows 256… scaled, the rest kept.
    const scales = floats(standard, 'transformer.h.0.attn.c_attn.weight_scale');
    const folded = floats(fused, 'transformer.h.0.attn.c_attn.weight_scale');
    expect(Array.from(folded)).toEqual(
      Array.from(scales, (value, row) => (row < 256 ? value : Math.fround(value * scale[row - 256]!))),
    );
    const bias = floats(standard, 'transformer.h.0.attn.c_attn.bias');
    expect(Array.from(floats(fused, 'transformer.h.0.attn.c_attn.bias'))).toEqual(
      Array.from(bias, (value, row) => (row < 256 ? value : Math.fround(value * scale[row - 256]!))),
    );
    // The codes are unchanged, and only the MLP's c_proj still multiplies its input.
    expect(initializer(fused, 'transformer.h.0.attn.c_attn.weight_packed').rawData).toEqual(
      initializer(standard, 'transformer.h.0.attn.c_attn.weight_packed').rawData,
    );
    const names = fused.graph.initializers.map((entry) => entry.name);
    expect(names).not.toContain('transformer.h.0.attn.c_proj.pre_quant_scale');
    expect(names).toContain('transformer.h.0.mlp.c_proj.pre_quant_scale');
    expect(opCounts(fused).Mul).toBe(2);
  });

  it('keeps the c_proj multiply where c_attn has a per-tensor scale (float8)', () => {
    const model = tinyModel({ quantMode: 'float8' });
    model.transformer.h[0]!.attn.c_proj.pre_quant_scale = createTensor(
      'float32',
      [128],
      new Float32Array(128).fill(2),
    );
    const fused = decodeModel(
      serializeModel(buildGptGraph(model, { weightFormat: 'lookup', operators: 'fused' })),
    );
    const multiply = fused.graph.nodes.filter(
      (node) => node.opType === 'Mul' && node.inputs.includes('transformer.h.0.attn.c_proj.pre_quant_scale'),
    );
    expect(multiply).toHaveLength(1);
  });

  it('casts float16 logits to float32 and keeps the cache in float16', () => {
    const model = decodeModel(serializeModel(buildGptGraph(tinyModel({ dtype: 'float16' }))));
    expect(model.graph.outputs[0]).toMatchObject({ name: 'logits', dtype: 'float32' });
    expect(model.graph.outputs[1]).toMatchObject({ name: 'present.0.key', dtype: 'float16' });
    expect(model.graph.inputs[3]).toMatchObject({ name: 'past_key_values.0.key', dtype: 'float16' });
    expect(initializer(model, 'transformer.wte.weight').dtype).toBe('float16');
  });

  it('refuses NaN weights and negative scales, naming the parameter', () => {
    const model = tinyModel({ quantMode: 'float8' });
    const weight = new Float32Array(384 * 128);
    weight[17] = Number.NaN;
    model.transformer.h[1]!.attn.c_attn.weight = createTensor('float32', [384, 128], weight);
    expect(() => buildGptGraph(model, { weightFormat: 'lookup' })).toThrow(
      'transformer.h.1.attn.c_attn.weight: element 17 is not finite; weights and scales must be finite numbers',
    );
    const scaled = tinyModel({ quantMode: 'float8' });
    scaled.lm_head.input_scale = createTensor('float32', [], Float32Array.of(-1));
    let caught: unknown;
    try {
      buildGptGraph(scaled, { weightFormat: 'lookup' });
    } catch (error) {
      caught = error;
    }
    expect(caught).toMatchObject({ code: 'PTQ_WEIGHT_VALUE', parameter: 'lm_head.input_scale' });
    expect((caught as Error).message).toBe('lm_head.input_scale: element 0 is negative; scales must be ≥ 0');
  });

  it('fuses each block into SkipLayerNormalization, MultiHeadAttention and FastGelu with its bias', () => {
    const model = tinyModel();
    const fused = decodeModel(serializeModel(buildGptGraph(model, { operators: 'fused' })));
    const counts = opCounts(fused);
    // Two layers: ln_1 and ln_2 of each, and ln_f; the residual Adds are inside them.
    expect(counts.SkipLayerNormalization).toBe(5);
    expect(counts.MultiHeadAttention).toBe(2);
    expect(counts.LayerNormalization ?? 0).toBe(0);
    expect(counts.Softmax ?? 0).toBe(0);
    expect(counts.Add ?? 0).toBe(0);
    // c_attn's bias is in its Gemm, c_fc's in FastGelu, the c_proj ones in the next SkipLayerNormalization.
    expect(counts.Gemm).toBe(2);
    // The tied head reads the embedding stored as [embedding, vocab] with one MatMul; the embedding
    // gathers its columns.
    const head = fused.graph.nodes.filter((node) =>
      node.inputs.includes('transformer.wte.weight_transposed'),
    );
    expect(head.map((node) => node.opType)).toEqual(['Gather', 'MatMul']);
    const embedding = fused.graph.nodes.find((node) => node.opType === 'Gather')!;
    expect(embedding.inputs).toEqual(['transformer.wte.weight_transposed', 'input_ids']);
    expect(fused.graph.initializers.map((tensor) => tensor.name)).not.toContain('transformer.wte.weight');
    const gelu = fused.graph.nodes.find((node) => node.opType === 'FastGelu')!;
    expect(gelu.inputs[1]).toBe('transformer.h.0.mlp.c_fc.bias');
    const skip = fused.graph.nodes.filter((node) => node.opType === 'SkipLayerNormalization');
    expect(skip[1]!.inputs[4]).toBe('transformer.h.0.attn.c_proj.bias');
    expect(skip[1]!.outputs[1]).toBe('');
    // The presents come straight out of the attention op, and the interface is the standard one's.
    const attention = fused.graph.nodes.find((node) => node.opType === 'MultiHeadAttention')!;
    expect(attention.outputs.slice(1)).toEqual(['present.0.key', 'present.0.value']);
    expect(counts.Identity ?? 0).toBe(0);
    const standard = decoded(undefined);
    expect(fused.graph.inputs).toEqual(standard.graph.inputs);
    expect(fused.graph.outputs).toEqual(standard.graph.outputs);
    expect(fused.graph.nodes.length).toBeLessThan(standard.graph.nodes.length);
  });

  // Builds, serializes and decodes graphs of width 512 in several weight formats.
  it('splits long inner products of float and float8 weights in fused graphs, when asked', () => {
    // embeddingSize 512: mlp.c_proj is [1, 2048] × [2048, 512], split into 4 parts of 512.
    const graphOf = (
      quantMode: QuantMode | undefined,
      operators: 'fused' | 'standard',
      weightFormat?: WeightFormat,
    ) =>
      decodeModel(
        serializeModel(
          buildGptGraph(tinyModel({ quantMode, embeddingSize: 512 }), {
            operators,
            weightFormat,
            splitLongProducts: true,
          }),
        ),
      );
    const fused = graphOf(undefined, 'fused');
    expect(initializer(fused, 'transformer.h.0.mlp.c_proj.weight').shape).toEqual([4, 512, 512]);
    // Off unless asked for (compile asks on WebGPU only).
    const unsplit = decodeModel(
      serializeModel(buildGptGraph(tinyModel({ embeddingSize: 512 }), { operators: 'fused' })),
    );
    expect(initializer(unsplit, 'transformer.h.0.mlp.c_proj.weight').shape).toEqual([2048, 512]);
    // c_fc (512 → 2048) and c_proj (512 → 512) stay whole.
    expect(initializer(fused, 'transformer.h.0.mlp.c_fc.weight').shape).toEqual([512, 2048]);
    expect(initializer(fused, 'transformer.h.0.attn.c_proj.weight').shape).toEqual([512, 512]);
    // The parts are summed by a MatMul with a row of ones, one per layer.
    const sums = fused.graph.nodes.filter(
      (node) =>
        node.opType === 'MatMul' &&
        fused.graph.initializers.some(
          (entry) =>
            entry.name === node.inputs[0] &&
            entry.shape.join() === '1,4' &&
            Array.from({ length: 4 }, (_, index) =>
              new DataView(entry.rawData!.buffer, entry.rawData!.byteOffset).getFloat32(4 * index, true),
            ).every((value) => value === 1),
        ),
    );
    expect(sums).toHaveLength(2);
    expect(initializer(graphOf(undefined, 'standard'), 'transformer.h.0.mlp.c_proj.weight').shape).toEqual([
      2048, 512,
    ]);
    expect(
      initializer(graphOf('float8', 'fused', 'lookup'), 'transformer.h.0.mlp.c_proj.weight_codes'),
    ).toMatchObject({
      dtype: 'uint8',
      shape: [4, 512, 512],
    });
    expect(
      initializer(graphOf('float8', 'fused', 'dequantize-linear'), 'transformer.h.0.mlp.c_proj.weight_codes'),
    ).toMatchObject({ dtype: 'float8e4m3fn', shape: [4, 512, 512] });
    // MatMulNBits is left as it is.
    expect(
      initializer(
        graphOf('int8-weight-only', 'fused', 'matmul-nbits'),
        'transformer.h.0.mlp.c_proj.weight_packed',
      ).shape,
    ).toEqual([512, 16, 128]);
  }, 120_000);

  it('builds a single-row graph on GroupQueryAttention with input_ids as the only device input', () => {
    const single = decodeModel(
      serializeModel(buildGptGraph(tinyModel(), { operators: 'fused', singleRow: true })),
    );
    expect(single.graph.inputs.map((input) => input.name)).toEqual([
      'input_ids',
      'num_logits_to_keep',
      'past_key_values.0.key',
      'past_key_values.1.key',
      'past_key_values.0.value',
      'past_key_values.1.value',
    ]);
    const counts = opCounts(single);
    expect(counts.GroupQueryAttention).toBe(2);
    expect(counts.MultiHeadAttention ?? 0).toBe(0);
    expect(counts.Split ?? 0).toBe(0);
    // The greedy token: ReduceMax / Equal / Where / ReduceMin (WebGPU's ArgMax is slow).
    expect(counts.ArgMax ?? 0).toBe(0);
    expect(counts.Where).toBe(1);
    expect(single.graph.outputs.map((output) => output.name)).toContain('next_token');
    expect(counts.Identity ?? 0).toBe(0);
    // input_ids feeds the embedding Gather alone: a host node reading it would copy a device-resident
    // token back to the host.
    const readers = single.graph.nodes.filter((node) => node.inputs.includes('input_ids'));
    expect(readers.map((node) => node.opType)).toEqual(['Gather']);
    // The attention lengths are computed by nodes the runtime pins to the host; Shape nodes are not
    // pinned (the device's Shape reads no data), and seqlens_k is made on the device by Range.
    const host = single.graph.nodes
      .filter((node) => node.name.startsWith('host/'))
      .map((node) => node.opType);
    expect(host).toEqual([
      'Slice',
      'Slice',
      'Add',
      'Squeeze',
      'Cast',
      'Sub',
      'Squeeze',
      'Cast',
      'Reshape',
      'Neg',
    ]);
    // num_logits_to_keep is read by host nodes alone: the head's Slice takes its start from them.
    const keepReaders = single.graph.nodes.filter((node) => node.inputs.includes('num_logits_to_keep'));
    expect(keepReaders.map((node) => node.name)).toEqual(['host/logits_to_keep']);
    const attention = single.graph.nodes.find((node) => node.opType === 'GroupQueryAttention')!;
    const range = single.graph.nodes.find((node) => node.opType === 'Range')!;
    expect(attention.inputs[5]).toBe(range.outputs[0]);
    expect(() => buildGptGraph(tinyModel(), { singleRow: true })).toThrow(/singleRow/);
  });
});
