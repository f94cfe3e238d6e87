import { describe, expect, it } from 'vitest';
import { kernelAdapterProblem } from '../__fixtures__/kernel-adapter';
import { sharedKernelDevice } from './dawn-device';

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
