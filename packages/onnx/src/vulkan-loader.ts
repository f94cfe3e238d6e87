/**
 * Whether the Vulkan loader (`libvulkan.so.1`) can be loaded, on Linux. onnxruntime's WebGPU
 * provider reaches the GPU through it; without it, probing WebGPU only makes Dawn print a native
 * warning with a C++ source path on stderr (which no log level silences) before failing. Asking the
 * dynamic loader first, the same way Dawn does, answers the question quietly. Elsewhere: true.
 */
export function vulkanLoaderPresent(platform: NodeJS.Platform = process.platform): boolean {
  if (platform !== 'linux') return true;
  try {
    // The loader is no Node addon: when it is found, dlopen succeeds and Node then refuses it.
    process.dlopen({ exports: {} } as NodeJS.Module, 'libvulkan.so.1');
    return true;
  } catch (error) {
    return !/cannot open shared object file/.test(error instanceof Error ? error.message : String(error));
  }
}
