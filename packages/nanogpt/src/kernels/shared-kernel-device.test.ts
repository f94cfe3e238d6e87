import { describe, expect, it } from 'vitest';
import { kernelAdapterProblem } from '../__fixtures__/kernel-adapter';
import { KernelDeviceError } from '../errors';
import { requestKernelDevice, sharedKernelDevice, watchDeviceErrors } from './dawn-device';

const problem = await kernelAdapterProblem();
if (problem !== undefined) console.warn(`shared kernel device tests skipped: ${problem}`);

describe.skipIf(problem !== undefined)('sharedKernelDevice', () => {
  it('gives one device to every caller until it is lost, then opens another', async () => {
    const first = await sharedKernelDevice({ allowSoftwareAdapter: true });
    const again = await sharedKernelDevice({ allowSoftwareAdapter: true });
    expect(again.device).toBe(first.device);
    // A device that works after being handed out twice: nothing was destroyed between callers.
    const buffer = first.device.createBuffer({ size: 16, usage: 0x80 });
    buffer.destroy();

    first.device.destroy();
    const lost = await first.device.lost;
    expect(lost.reason).toBe('destroyed');
    // The loss is forgotten once its promise has settled for the cache too.
    await new Promise((resolve) => setImmediate(resolve));
    const next = await sharedKernelDevice({ allowSoftwareAdapter: true });
    expect(next.device).not.toBe(first.device);
    expect(next.adapterName).toBe(first.adapterName);
    next.device.destroy();
  });
});

describe.skipIf(problem !== undefined)('requestKernelDevice with skipChecks', () => {
  it('keeps validation on a software adapter, where the tests run', async () => {
    const { device, software } = await requestKernelDevice({ allowSoftwareAdapter: true, skipChecks: true });
    expect(software).toBe(true);
    // MAP_READ with STORAGE is invalid WebGPU: a checked device reports it, an unchecked one would not.
    device.pushErrorScope('validation');
    device.createBuffer({ size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.STORAGE });
    const error = await device.popErrorScope();
    expect(error?.message).toMatch(/usage/i);
    device.destroy();
  });
});

describe.skipIf(problem !== undefined)('watchDeviceErrors', () => {
  it('throws KernelDeviceError naming the work when the device reported an error, and nothing otherwise', async () => {
    const { device } = await requestKernelDevice({ allowSoftwareAdapter: true });
    try {
      const quiet = watchDeviceErrors(device, 'a quiet test');
      device.createBuffer({ size: 16, usage: GPUBufferUsage.STORAGE });
      await device.queue.onSubmittedWorkDone();
      expect(() => quiet.check()).not.toThrow();

      const watched = watchDeviceErrors(device, 'a test');
      // A buffer destroyed before the submission that uses it: Dawn drops the submission.
      const buffer = device.createBuffer({ size: 16, usage: GPUBufferUsage.COPY_DST });
      buffer.destroy();
      const encoder = device.createCommandEncoder();
      encoder.clearBuffer(buffer);
      device.queue.submit([encoder.finish()]);
      await device.queue.onSubmittedWorkDone();
      const error = (() => {
        try {
          watched.check();
        } catch (thrown) {
          return thrown;
        }
      })();
      expect(error).toBeInstanceOf(KernelDeviceError);
      expect((error as KernelDeviceError).message).toMatch(/during a test:\n {2}- .*destroyed/);
    } finally {
      device.destroy();
    }
  });
});
