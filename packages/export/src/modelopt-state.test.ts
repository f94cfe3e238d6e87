import { QUANT_MODES } from '@ptq/quant-core';
import { createTensor, type Tensor } from '@ptq/tensor';
import { describe, expect, it } from 'vitest';
import { quantizedDefaultModel } from './__fixtures__/quantized-default-model';
import { QUANT_ALGO_BY_MODE } from './modelopt-quant-algo';
import { modelOptState, planModelOptState } from './modelopt-state';

describe('planModelOptState', () => {
  for (const mode of QUANT_MODES) {
    it(`plans every tensor it yields, with its dtype and shape, in modelOptState's order (${mode})`, async () => {
      const quantized = await quantizedDefaultModel(mode);
      const plan = planModelOptState(quantized, QUANT_ALGO_BY_MODE[mode]);
      const yielded = [...plan.tensors()].map(([name, tensor]) => ({
        name,
        dtype: tensor.dtype,
        shape: tensor.shape,
      }));
      expect(yielded).toEqual(plan.planned.map(({ name, dtype, shape }) => ({ name, dtype, shape })));
      const state = modelOptState(quantized, QUANT_ALGO_BY_MODE[mode]);
      expect([...state.tensors.keys()]).toEqual(plan.planned.map(({ name }) => name));
      expect(state.excludeModules).toEqual(plan.excludeModules);
      expect(state.headStored).toBe(plan.headStored);
    });
  }

  it("makes a linear's codes when the iteration reaches it, not when the plan is made", async () => {
    const quantized = await quantizedDefaultModel('int8-weight-only');
    const path = 'transformer.h.3.mlp.c_proj';
    const linear = quantized.linears.get(path)!;
    const weight = linear.weight;
    const plan = planModelOptState(quantized, 'W8A16');
    // Zeroed after planning: codes made at planning time would still hold the old weight.
    linear.weight = createTensor('float32', weight.shape, new Float32Array(weight.data.length));
    linear.invalidate();
    try {
      const codes = new Map(plan.tensors()).get(`${path}.weight`)!;
      expect(codes.data.every((code) => code === 0)).toBe(true);
      expect(codes.data.length).toBe(weight.data.length);
    } finally {
      linear.weight = weight;
      linear.invalidate();
    }
  });

  it('makes the same tensors when the packed int4 weights reuse two arrays in turn', async () => {
    const quantized = await quantizedDefaultModel('int4-weight-only');
    const plan = planModelOptState(quantized, 'W4A16_AWQ');
    const copies = (tensors: Iterable<readonly [string, Tensor]>) =>
      [...tensors].map(([name, tensor]) => [name, tensor.dtype, tensor.shape, tensor.data.slice()] as const);
    const fresh = copies(plan.tensors());
    const buffers: ArrayBufferLike[] = [];
    const shared: ReturnType<typeof copies> = [];
    for (const [name, tensor] of plan.tensors({ reusePackedWeights: true })) {
      if (tensor.dtype === 'uint8') buffers.push(tensor.data.buffer);
      shared.push(...copies([[name, tensor]]));
    }
    expect(shared).toEqual(fresh);
    expect(fresh.filter(([, dtype]) => dtype === 'uint8')).toHaveLength(16);
    // Two arrays used in turn: one may still be written while the next linear's is made.
    expect(new Set(buffers).size).toBe(2);
    for (let index = 1; index < buffers.length; index++) {
      expect(buffers[index]).not.toBe(buffers[index - 1]);
    }
    // A plain iteration afterwards makes fresh arrays again.
    const again = [...plan.tensors()].filter(([, tensor]) => tensor.dtype === 'uint8');
    expect(new Set(again.map(([, tensor]) => tensor.data.buffer)).size).toBe(16);
  });

  it('refuses an uncalibrated linear when planning, before any tensor is made', async () => {
    const quantized = await quantizedDefaultModel('int8-weight-only');
    const linear = quantized.linears.get('transformer.h.1.attn.c_proj')!;
    const amax = linear.weight_quantizer.amax;
    linear.weight_quantizer.amax = undefined;
    try {
      expect(() => planModelOptState(quantized, 'W8A16')).toThrow(
        /transformer\.h\.1\.attn\.c_proj\.weight_quantizer is enabled but uncalibrated/,
      );
    } finally {
      linear.weight_quantizer.amax = amax;
    }
  });
});
