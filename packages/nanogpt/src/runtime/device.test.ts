import { describe, expect, it } from 'vitest';
import { tinyModel } from '../__fixtures__/tiny-model';
import { compile } from './compile';

describe('compile devices', () => {
  it("'auto' lands on a device, telling each fallback in one line; an unavailable named device throws", async () => {
    const notices: string[] = [];
    const compiled = await compile(tinyModel(), {
      device: 'auto',
      onNotice: (message) => notices.push(message),
    });
    expect(['cuda', 'webgpu', 'cpu']).toContain(compiled.device);
    for (const notice of notices)
      expect(notice).toMatch(
        /^ptq: \w+ (is not available|could not load the model) \(.*\); (trying \w+|using cpu)$/,
      );
    if (compiled.device === 'cpu') {
      // This machine has no GPU device, so naming one fails clearly instead of falling back.
      expect(notices.length).toBeGreaterThanOrEqual(1);
      await expect(compile(tinyModel(), { device: 'webgpu' })).rejects.toMatchObject({
        code: 'PTQ_DEVICE_UNAVAILABLE',
      });
    }
    await compiled.release();
  });
});
