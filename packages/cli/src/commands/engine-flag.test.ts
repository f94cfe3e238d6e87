import { describe, expect, test } from 'vitest';
import { runCli } from '../run-cli';
import { captureIo } from '../test-support/capture-io';

async function run(argv: string[], environment: Record<string, string> = {}) {
  const saved = Object.fromEntries(Object.keys(environment).map((key) => [key, process.env[key]]));
  Object.assign(process.env, environment);
  try {
    const io = captureIo();
    const exitCode = await runCli(argv, io);
    return { exitCode, stdout: io.stdoutText(), stderr: io.stderrText() };
  } finally {
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  }
}

const PROMPT = ['--input-text', 'It was a bright cold day in April, and', '--max-new-tokens', '24'];

describe('--engine', () => {
  test('refuses an unknown engine and a device the kernels cannot use', async () => {
    expect(await run(['generate', '--engine', 'cuda-graphs'])).toMatchObject({
      exitCode: 2,
      stderr: 'ptq: --engine must be one of onnxruntime, kernels, auto, got "cuda-graphs"\n',
    });
    expect(await run(['generate', '--engine', 'kernels', '--device', 'cpu'])).toMatchObject({
      exitCode: 2,
      stderr: 'ptq: --engine kernels runs on WebGPU; --device cpu does not apply\n',
    });
  });

  test('the default, auto, decides the device first: where onnxruntime finds no GPU, Dawn is not tried', async () => {
    const result = await run(['generate', ...PROMPT, '--json']);
    expect(result.exitCode, result.stderr).toBe(0);
    const output = JSON.parse(result.stdout);
    if (output.device !== 'cpu') {
      console.warn(`skipped: this machine has a GPU (${output.device}, ${output.engine})`);
      return;
    }
    expect(output.engine).toBe('onnxruntime');
    // Trying the kernels and falling back would have said so in a notice.
    expect(result.stderr).not.toMatch(/kernels engine not used|Dawn|adapter/i);
  }, 120_000);

  // Quantizes and generates twice: on onnxruntime, then on the kernels (a software adapter here).
  test('the kernels engine continues the prompt with the same greedy tokens as onnxruntime (int8, float32)', async () => {
    const reference = await run([
      'generate',
      ...PROMPT,
      '--mode',
      'int8-weight-only',
      '--device',
      'cpu',
      '--json',
      '-q',
    ]);
    expect(reference.exitCode, reference.stderr).toBe(0);
    // llvmpipe is a software adapter, which the kernels engine takes only when told to.
    const kernels = await run(
      [
        'generate',
        ...PROMPT,
        '--mode',
        'int8-weight-only',
        '--engine',
        'kernels',
        '--dtype',
        'float32',
        '--json',
        '-q',
      ],
      { PTQ_KERNELS_SOFTWARE: '1', EGL_PLATFORM: 'surfaceless' },
    );
    if (kernels.exitCode !== 0 && /no WebGPU adapter|adapter/i.test(kernels.stderr)) {
      console.warn(`skipped: Dawn found no WebGPU adapter here (${kernels.stderr.trim()})`);
      return;
    }
    expect(kernels.exitCode, kernels.stderr).toBe(0);
    const expected = JSON.parse(reference.stdout);
    const actual = JSON.parse(kernels.stdout);
    expect(expected.engine).toBe('onnxruntime');
    expect(actual).toMatchObject({ engine: 'kernels', device: 'webgpu' });
    expect(actual.tokenIds ?? actual.tokens ?? actual.text).toEqual(
      expected.tokenIds ?? expected.tokens ?? expected.text,
    );
    expect(actual.text).toBe(expected.text);
  }, 120_000);
});
