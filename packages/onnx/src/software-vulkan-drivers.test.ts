import { describe, expect, it } from 'vitest';
import {
  hidesSoftwareVulkanDrivers,
  SOFTWARE_VULKAN_DRIVERS,
  VULKAN_DRIVER_VARIABLES,
  withoutSoftwareVulkanDrivers,
} from './software-vulkan-drivers';

describe('withoutSoftwareVulkanDrivers', () => {
  it('disables lavapipe and SwiftShader in the loader while the task runs, then restores the environment', async () => {
    const environment: NodeJS.ProcessEnv = { PATH: '/usr/bin' };
    const seen = await withoutSoftwareVulkanDrivers(
      async () => environment.VK_LOADER_DRIVERS_DISABLE,
      environment,
      'linux',
    );
    expect(seen).toBe(SOFTWARE_VULKAN_DRIVERS);
    expect(environment).toEqual({ PATH: '/usr/bin' });
  });

  it('restores the environment when the task throws', async () => {
    const environment: NodeJS.ProcessEnv = {};
    await expect(
      withoutSoftwareVulkanDrivers(
        async () => {
          throw new Error('no adapter');
        },
        environment,
        'linux',
      ),
    ).rejects.toThrow('no adapter');
    expect(environment).toEqual({});
  });

  it.each(VULKAN_DRIVER_VARIABLES)('leaves the drivers alone when the user set %s', async (name) => {
    const environment: NodeJS.ProcessEnv = { [name]: '/opt/vulkan/nvidia_icd.json' };
    expect(hidesSoftwareVulkanDrivers(environment, 'linux')).toBe(false);
    const seen = await withoutSoftwareVulkanDrivers(async () => ({ ...environment }), environment, 'linux');
    expect(seen).toEqual({ [name]: '/opt/vulkan/nvidia_icd.json' });
  });

  it('changes nothing off Linux, where WebGPU does not go through Vulkan by default', async () => {
    for (const platform of ['win32', 'darwin'] as const) {
      const environment: NodeJS.ProcessEnv = {};
      expect(hidesSoftwareVulkanDrivers(environment, platform)).toBe(false);
      await withoutSoftwareVulkanDrivers(
        async () => {
          expect(environment.VK_LOADER_DRIVERS_DISABLE).toBeUndefined();
        },
        environment,
        platform,
      );
    }
  });

  it('matches the loader manifests of both drivers by name', () => {
    const globs = SOFTWARE_VULKAN_DRIVERS.split(',').map(
      (glob) => new RegExp(`^${glob.replaceAll('*', '.*')}$`),
    );
    const matches = (manifest: string) => globs.some((glob) => glob.test(manifest));
    expect(matches('lvp_icd.x86_64.json')).toBe(true);
    expect(matches('lvp_icd.aarch64.json')).toBe(true);
    expect(matches('lvp_icd.json')).toBe(true);
    expect(matches('vk_swiftshader_icd.json')).toBe(true);
    expect(matches('nvidia_icd.json')).toBe(false);
    expect(matches('radeon_icd.x86_64.json')).toBe(false);
    expect(matches('intel_icd.x86_64.json')).toBe(false);
  });
});
