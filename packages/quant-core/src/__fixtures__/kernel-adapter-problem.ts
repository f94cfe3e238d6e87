import { type KernelDevice, requestKernelDevice } from '@ptq/nanogpt';

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

/**
 * A kernel device for one test file (a software adapter accepted), or why there is none, after
 * warning that `tests` are skipped; the file destroys the device when it is done.
 */
export async function testKernelDevice(tests: string): Promise<{ found?: KernelDevice; problem?: string }> {
  try {
    return { found: await requestKernelDevice({ allowSoftwareAdapter: true }) };
  } catch (error) {
    const problem = (error as Error).message;
    console.warn(`${tests} skipped: ${problem}`);
    return { problem };
  }
}
