import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { DEFAULT_MODEL_DIR } from '@ptq/default-model';
import { readGpt2Config } from '@ptq/hf-gpt2';
import { describe, expect, test } from 'vitest';
import { chooseWeightResidence } from './model/weight-residence';
import { runCli } from './run-cli';
import { captureIo } from './test-support/capture-io';
import { temporaryFolder } from './test-support/temporary-folder';

async function quantize(weights: string, out: string) {
  const io = captureIo();
  const argv = ['quantize', '--mode', 'int4-weight-only', '--calib-size', '2', '--max-sample-length', '32'];
  const exitCode = await runCli(
    [...argv, '--device', 'cpu', '--weights', weights, '--out', out, '--json'],
    io,
  );
  return { exitCode, stdout: io.stdoutText(), stderr: io.stderrText() };
}

describe('--weights', () => {
  test('on-demand writes the bytes in-memory writes and measures the same perplexities', async () => {
    const folder = await temporaryFolder();
    const inMemory = await quantize('in-memory', path.join(folder, 'in-memory'));
    const onDemand = await quantize('on-demand', path.join(folder, 'on-demand'));
    expect([inMemory.exitCode, onDemand.exitCode]).toEqual([0, 0]);
    expect(onDemand.stderr).toMatch(
      /^ptq: load \d+\.\d\d s \(the bundled model, cpu, weights read on demand\)$/m,
    );
    expect(inMemory.stderr).toMatch(/^ptq: load \d+\.\d\d s \(the bundled model, cpu\)$/m);
    for (const file of ['model.safetensors', 'config.json', 'hf_quant_config.json']) {
      const [a, b] = await Promise.all(
        ['in-memory', 'on-demand'].map((name) => readFile(path.join(folder, name, file))),
      );
      expect(Buffer.compare(a!, b!), file).toBe(0);
    }
    const quality = (result: { stdout: string }) => JSON.parse(result.stdout).quality;
    expect(quality(onDemand)).toEqual(quality(inMemory));
    expect(quality(onDemand).quantizedPerplexity).toBeGreaterThan(0);
  }, 180_000);

  test('auto reads on demand once the float32 weights pass a quarter of the machine memory', async () => {
    const config = await readGpt2Config(DEFAULT_MODEL_DIR);
    // The bundled model: 4 × 256, 8192 tokens, 1024 positions: 5,518,848 parameters, 22.1 MB in
    // float32 (its model.safetensors holds them as float16).
    const float32Bytes = 22_075_392;
    expect(chooseWeightResidence('auto', config, 4 * float32Bytes)).toBe('in-memory');
    expect(chooseWeightResidence('auto', config, 4 * float32Bytes - 4)).toBe('on-demand');
    expect(chooseWeightResidence('in-memory', config, 1)).toBe('in-memory');
    expect(chooseWeightResidence('on-demand', config, 2 ** 50)).toBe('on-demand');
  });
});
