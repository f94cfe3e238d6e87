import { afterAll, beforeAll } from 'vitest';
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

/** `GPUBufferUsage`'s flags, usable before Dawn has put its globals in place. */
export const BUFFER_USAGE = {
  MAP_READ: 0x01,
  COPY_SRC: 0x04,
  COPY_DST: 0x08,
  UNIFORM: 0x40,
  STORAGE: 0x80,
} as const;

/** The device a kernel test file runs on; `device` is set before its tests run. */
export interface KernelTestDevice {
  device: GPUDevice;
}

/**
 * One Dawn device (llvmpipe allowed) for a test file: made before the file's tests and destroyed
 * after them. `problem` (logged, naming `what`) is why the tests skip, when Dawn finds no adapter.
 */
export async function kernelTestDevice(
  what: string,
): Promise<{ problem: string | undefined; kernel: KernelTestDevice }> {
  const problem = await kernelAdapterProblem();
  if (problem !== undefined) console.warn(`${what} tests skipped: ${problem}`);
  const kernel = {} as KernelTestDevice;
  beforeAll(async () => {
    if (problem === undefined)
      kernel.device = (await requestKernelDevice({ allowSoftwareAdapter: true })).device;
  });
  afterAll(() => {
    kernel.device?.destroy();
  });
  return { problem, kernel };
}

/** A buffer holding `data` (padded to whole 16 bytes), by default a storage buffer that can be read back. */
export function uploadBuffer(
  kernel: KernelTestDevice,
  data: Float32Array | Uint32Array,
  usage: number = BUFFER_USAGE.STORAGE | BUFFER_USAGE.COPY_DST | BUFFER_USAGE.COPY_SRC,
): GPUBuffer {
  const made = kernel.device.createBuffer({
    size: Math.max(16, Math.ceil(data.byteLength / 16) * 16),
    usage,
  });
  kernel.device.queue.writeBuffer(made, 0, data);
  return made;
}

/** The first `length` 32-bit words of `source`, copied out through a staging buffer. */
export async function readWords(
  kernel: KernelTestDevice,
  source: GPUBuffer,
  length: number,
): Promise<Uint32Array> {
  const staging = kernel.device.createBuffer({
    size: source.size,
    usage: BUFFER_USAGE.MAP_READ | BUFFER_USAGE.COPY_DST,
  });
  const encoder = kernel.device.createCommandEncoder();
  encoder.copyBufferToBuffer(source, 0, staging, 0, source.size);
  kernel.device.queue.submit([encoder.finish()]);
  await staging.mapAsync(BUFFER_USAGE.MAP_READ);
  const words = new Uint32Array(staging.getMappedRange().slice(0), 0, length);
  staging.unmap();
  staging.destroy();
  return words;
}

/**
 * Encodes one run of `code` (entry point `main`) with `bindings` (binding number → buffer; an array
 * binds in order, undefined entries are left out) over `groups` workgroups.
 */
export function encodeKernel(
  kernel: KernelTestDevice,
  encoder: GPUCommandEncoder,
  code: string,
  bindings: Readonly<Record<number, GPUBuffer | undefined>> | readonly GPUBuffer[],
  groups: number | readonly [number, number],
): void {
  const { device } = kernel;
  const pipeline = device.createComputePipeline({
    layout: 'auto',
    compute: { module: device.createShaderModule({ code }), entryPoint: 'main' },
  });
  const pass = encoder.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(
    0,
    device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: Object.entries(bindings).flatMap(([binding, target]) =>
        target === undefined ? [] : [{ binding: Number(binding), resource: { buffer: target as GPUBuffer } }],
      ),
    }),
  );
  if (typeof groups === 'number') pass.dispatchWorkgroups(groups);
  else pass.dispatchWorkgroups(groups[0], groups[1]);
  pass.end();
}
