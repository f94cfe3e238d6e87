/**
 * Vulkan drivers that run on the CPU: Mesa's lavapipe and Google's SwiftShader, as globs over the
 * names of their loader manifests (`lvp_icd.json`, `lvp_icd.x86_64.json`, `vk_swiftshader_icd.json`). On Linux,
 * onnxruntime's WebGPU provider reaches the device through Vulkan and takes such a driver as an
 * adapter like any other, and onnxruntime-node reports nothing that tells it from a GPU; it runs
 * shaders on the CPU, far slower than the CPU provider.
 */
export const SOFTWARE_VULKAN_DRIVERS = '*lvp_icd*,*swiftshader*';

/** The Vulkan loader's driver settings: when the user set any of them, ptq leaves the drivers alone. */
export const VULKAN_DRIVER_VARIABLES = [
  'VK_LOADER_DRIVERS_SELECT',
  'VK_LOADER_DRIVERS_DISABLE',
  'VK_DRIVER_FILES',
  'VK_ICD_FILENAMES',
  'VK_ADD_DRIVER_FILES',
] as const;

/** Whether `withoutSoftwareVulkanDrivers` would hide anything in this environment. */
export function hidesSoftwareVulkanDrivers(
  environment: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
): boolean {
  return platform === 'linux' && VULKAN_DRIVER_VARIABLES.every((name) => environment[name] === undefined);
}

/**
 * Runs `task` (one that may create the process's WebGPU device) with software Vulkan drivers
 * disabled in the loader (`VK_LOADER_DRIVERS_DISABLE`), then restores the environment. On Linux only,
 * and only when the user has made no driver setting of their own.
 */
export async function withoutSoftwareVulkanDrivers<T>(
  task: () => Promise<T>,
  environment: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
): Promise<T> {
  if (!hidesSoftwareVulkanDrivers(environment, platform)) return task();
  environment.VK_LOADER_DRIVERS_DISABLE = SOFTWARE_VULKAN_DRIVERS;
  try {
    return await task();
  } finally {
    delete environment.VK_LOADER_DRIVERS_DISABLE;
  }
}
