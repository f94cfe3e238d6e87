import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { expect, test } from 'vitest';
import { vulkanLoaderPresent } from './vulkan-loader';

/** The dynamic linker's own cache, read by another program: an independent answer. */
function linkerCacheHasVulkan(): boolean {
  const ldconfig = ['/sbin/ldconfig', '/usr/sbin/ldconfig'].find((path) => existsSync(path));
  if (ldconfig === undefined) return false;
  return / libvulkan\.so\.1 /.test(execFileSync(ldconfig, ['-p'], { encoding: 'utf8' }));
}

test.runIf(process.platform === 'linux' && process.env.LD_LIBRARY_PATH === undefined)(
  'finds libvulkan.so.1 exactly when the dynamic linker knows it',
  () => {
    expect(vulkanLoaderPresent()).toBe(linkerCacheHasVulkan());
  },
);

test('assumes the loader elsewhere than Linux (onnxruntime finds Metal or D3D there)', () => {
  expect(vulkanLoaderPresent('darwin')).toBe(true);
  expect(vulkanLoaderPresent('win32')).toBe(true);
});
