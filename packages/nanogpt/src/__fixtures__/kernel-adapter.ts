import { type KernelDevice, requestKernelDevice } from '../kernels/dawn-device';

/**
 * Whether Dawn gets any adapter here (llvmpipe included), decided once per test file: tests skip,
 * with the reason, only when it gets none at all.
 */
export async function kernelAdapterProblem(): Promise<string | undefined> {
  let found: KernelDevice | undefined;
  try {
    found = await requestKernelDevice({ allowSoftwareAdapter: true });
    return undefined;
  } catch (error) {
    return `no WebGPU adapter for the kernels engine (${(error as Error).message}); on Debian install libegl1 libegl-mesa0 libgl1-mesa-dri libgles2`;
  } finally {
    found?.device.destroy();
  }
}
