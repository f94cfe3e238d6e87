import { DeviceUnavailableError } from '@ptq/onnx';
import { createTensor } from '@ptq/tensor';
import { describe, expect, it } from 'vitest';
import { kernelAdapterProblem } from '../__fixtures__/kernel-adapter';
import { tinyModel } from '../__fixtures__/tiny-model';
import { compile } from '../runtime/compile';

const problem = await kernelAdapterProblem();
if (problem !== undefined) console.warn(`engine coexistence test skipped: ${problem}`);

describe.skipIf(problem !== undefined)('Dawn (webgpu) and onnxruntime-node in one process', () => {
  it('run side by side: kernels, onnxruntime on the CPU and on its own WebGPU, kernels again', async () => {
    const model = tinyModel();
    const ids = createTensor('int64', [1, 3], BigInt64Array.of(1n, 2n, 3n));
    const kernels = await compile(model, { engine: 'kernels', allowSoftwareAdapter: true });
    const cpu = await compile(model, { device: 'cpu' });
    try {
      const first = (await kernels.forward(ids)).logits.data;
      const onCpu = (await cpu.forward(ids)).logits.data;
      expect(first[0]).toBeCloseTo(onCpu[0]!, 3);
      // onnxruntime's WebGPU provider carries its own Dawn (Vulkan only): where there is no
      // adapter for it, it fails cleanly; where there is, it runs beside this process's other Dawn.
      try {
        const web = await compile(model, { device: 'webgpu' });
        expect((await web.forward(ids)).logits.data[0]).toBeCloseTo(onCpu[0]!, 3);
        await web.release();
      } catch (error) {
        expect(error).toBeInstanceOf(DeviceUnavailableError);
      }
      expect((await kernels.forward(ids)).logits.data).toEqual(first);
    } finally {
      await cpu.release();
      await kernels.release();
    }
  });
});
