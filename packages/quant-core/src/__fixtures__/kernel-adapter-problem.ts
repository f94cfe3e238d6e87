import { requestKernelDevice } from '@ptq/nanogpt';

/**
 * Why Dawn finds no adapter here (Mesa's llvmpipe included), or undefined when it finds one: tests
 * of the kernels engine skip, saying why, without one.
 */
export async function kernelAdapterProblem(): Promise<string | undefined> {
  try {
    const found = await requestKernelDevice({ allowSoftwareAdapter: true });
    found.device.destroy();
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}
