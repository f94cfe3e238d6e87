import { expect, test, vi } from 'vitest';
import type { CommandContext } from '../command-definition';
import { chooseDevice } from './device-choice';

vi.mock('@ptq/onnx', () => ({
  async resolveDevice(device: string, options: { onNotice: (message: string) => void }) {
    if (device !== 'auto') return device;
    options.onNotice('ptq: cuda is not available (its provider library is not installed); trying webgpu');
    options.onNotice(
      'ptq: webgpu is not available (Failed to get a WebGPU adapter: No supported adapters); using cpu',
    );
    return 'cpu';
  },
}));

function context(): { lines: string[]; context: CommandContext } {
  const lines: string[] = [];
  return { lines, context: { status: (line: string) => lines.push(line) } as unknown as CommandContext };
}

test('auto: one line naming the device and why the others were skipped', async () => {
  const { lines, context: commandContext } = context();
  expect(await chooseDevice('auto', commandContext)).toBe('cpu');
  expect(lines).toEqual([
    'ptq: device cpu (cuda is not available (its provider library is not installed); webgpu is not available (Failed to get a WebGPU adapter: No supported adapters))',
  ]);
});

test('a device that needed no fallback: no line', async () => {
  const { lines, context: commandContext } = context();
  expect(await chooseDevice('cpu', commandContext)).toBe('cpu');
  expect(lines).toEqual([]);
});
