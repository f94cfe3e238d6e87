import { type Device, type ResolvedDevice, resolveDevice } from '@ptq/onnx';
import type { CommandContext } from '../command-definition';

/**
 * `--device` resolved, with at most one status line about the choice: the devices `auto` skipped
 * and why, joined (`ptq: device cpu (cuda is not available …; webgpu is not available …)`).
 */
export async function chooseDevice(device: Device, context: CommandContext): Promise<ResolvedDevice> {
  const notices: string[] = [];
  const resolved = await resolveDevice(device, {
    // "ptq: cuda is not available (…); trying webgpu": the next step is the next notice, or the result.
    onNotice: (message) => notices.push(message.replace(/^ptq: /, '').replace(/; (trying|using) \S+$/, '')),
  });
  if (notices.length > 0) context.status(`ptq: device ${resolved} (${notices.join('; ')})`);
  return resolved;
}
