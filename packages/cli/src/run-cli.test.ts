import { mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { COMMANDS } from './commands/command-table';
import { runCli } from './run-cli';
import { captureIo } from './test-support/capture-io';
import { temporaryFolder } from './test-support/temporary-folder';

async function run(argv: string[]) {
  const io = captureIo();
  const exitCode = await runCli(argv, io);
  return { exitCode, stdout: io.stdoutText(), stderr: io.stderrText() };
}

describe('usage errors: one line on stderr, nothing on stdout, exit code 2', () => {
  const cases: [string, string[], string][] = [
    [
      'unknown mode',
      ['quantize', '--mode', 'int3-weight-only', '--out', 'never-written'],
      'ptq: --mode must be one of int8-weight-only, int4-weight-only, float8, got "int3-weight-only"\n',
    ],
    [
      'missing mode',
      ['quantize', '--out', 'never-written'],
      'ptq: --mode is required (one of int8-weight-only, int4-weight-only, float8)\n',
    ],
    ['missing --out', ['quantize', '--mode', 'float8'], 'ptq: --out is required\n'],
    [
      'calibration size that is not a number',
      ['quantize', '--mode', 'float8', '--calib-size', 'abc', '--out', 'never-written'],
      'ptq: --calib-size must be a positive integer, got "abc"\n',
    ],
    [
      'zero batch size',
      ['quantize', '--mode', 'float8', '--batch-size', '0', '--out', 'never-written'],
      'ptq: --batch-size must be a positive integer, got "0"\n',
    ],
    [
      'fractional sample length',
      ['quantize', '--mode', 'float8', '--max-sample-length', '1.5', '--out', 'never-written'],
      'ptq: --max-sample-length must be a positive integer, got "1.5"\n',
    ],
    [
      'negative temperature',
      ['generate', '--temperature', '-1'],
      'ptq: --temperature must be a number >= 0, got "-1"\n',
    ],
    [
      'unknown device',
      ['generate', '--device', 'tpu'],
      'ptq: --device must be one of auto, cpu, webgpu, cuda, got "tpu"\n',
    ],
    [
      'unknown format',
      ['quantize', '--mode', 'float8', '--format', 'gguf', '--out', 'never-written'],
      'ptq: --format must be one of modelopt-hf, onnx, onnx-qdq, got "gguf"\n',
    ],
    [
      'seed with a sign',
      ['generate', '--seed', '+3'],
      'ptq: --seed must be a non-negative integer, got "+3"\n',
    ],
    [
      'top-k in hex',
      ['generate', '--top-k', '0x10'],
      'ptq: --top-k must be a positive integer, got "0x10"\n',
    ],
    ['empty prompt', ['generate', '--input-text', ''], 'ptq: --input-text must not be empty\n'],
    ['unknown flag', ['generate', '--bogus'], "ptq: unknown option '--bogus'\n"],
    ['flag without its value', ['generate', '--seed'], "ptq: option '--seed <n>' argument missing\n"],
    [
      'extra argument',
      ['inspect', 'a', 'b'],
      "ptq: too many arguments for 'inspect'. Expected 1 argument but got 2.\n",
    ],
    ['missing argument', ['inspect'], "ptq: missing required argument 'dir'\n"],
    [
      'a flag where a value should be',
      ['quantize', '--model', '--out', 'y'],
      'ptq: --model needs a value, but the next argument is the flag --out\n',
    ],
    [
      'a short flag where a value should be',
      ['eval', '--dataset', '-q'],
      'ptq: --dataset needs a value, but the next argument is the flag -q\n',
    ],
    [
      'unknown dataset split',
      ['quantize', '--mode', 'float8', '--dataset-split', 'words', '--out', 'never-written'],
      'ptq: --dataset-split must be one of lines, paragraphs, got "words"\n',
    ],
    [
      'unknown encoding',
      ['quantize', '--mode', 'float8', '--encoding', 'ascii', '--out', 'never-written'],
      'ptq: --encoding must be one of utf-8, latin1, utf-16le, got "ascii"\n',
    ],
    [
      'unknown check level',
      ['quantize', '--mode', 'float8', '--check', 'some', '--out', 'never-written'],
      'ptq: --check must be one of fast, full, none, got "some"\n',
    ],
    [
      'unknown int4 algorithm',
      ['quantize', '--mode', 'int4-weight-only', '--algorithm', 'gptq', '--out', 'never-written'],
      'ptq: --algorithm must be one of auto, awq_lite, max, got "gptq"\n',
    ],
    [
      'negative degradation threshold',
      ['quantize', '--mode', 'float8', '--max-degradation', '-1', '--out', 'never-written'],
      'ptq: --max-degradation must be a number >= 0, got "-1"\n',
    ],
    ['unknown command', ['quantise'], "ptq: unknown command 'quantise' (Did you mean quantize?)\n"],
  ];
  test.each(cases)('%s', async (_name, argv, expected) => {
    const result = await run(argv);
    expect(result).toEqual({ exitCode: 2, stdout: '', stderr: expected });
  });

  test('the error of a mistyped flag suggests the right one', async () => {
    const result = await run(['generate', '--max-new-token', '4']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toBe("ptq: unknown option '--max-new-token' (Did you mean --max-new-tokens?)\n");
  });

  test('with --verbose, the one line is followed by the stack', async () => {
    const result = await run(['quantize', '--mode', 'int3', '--out', 'x', '--verbose']);
    expect(result.exitCode).toBe(2);
    const lines = result.stderr.trimEnd().split('\n');
    expect(lines[0]).toBe(
      'ptq: --mode must be one of int8-weight-only, int4-weight-only, float8, got "int3"',
    );
    expect(lines[1]).toMatch(/^UsageError: /);
    expect(lines.some((line) => /^\s+at /.test(line))).toBe(true);
  });
});

describe('bad paths: one line, exit code 1, and nothing written', () => {
  test('a --out under a file fails before the model is even looked at', async () => {
    const folder = await temporaryFolder();
    await writeFile(path.join(folder, 'notes.txt'), 'a file, not a folder');
    const out = path.join(folder, 'notes.txt', 'model');
    const result = await run([
      'quantize',
      '--model',
      '/no/such/model',
      '--mode',
      'int8-weight-only',
      '--out',
      out,
    ]);
    expect(result).toEqual({
      exitCode: 1,
      stdout: '',
      stderr: `ptq: --out ${out}: a file is in the way: ${path.join(folder, 'notes.txt')} is not a folder\n`,
    });
    expect(await readdir(folder)).toEqual(['notes.txt']);
  });

  test('a --out deeper under a file names the file in the way', async () => {
    const folder = await temporaryFolder();
    await writeFile(path.join(folder, 'notes.txt'), '');
    const out = path.join(folder, 'notes.txt', 'a', 'model');
    const result = await run(['quantize', '--mode', 'int8-weight-only', '--out', out]);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toBe(
      `ptq: --out ${out}: a file is in the way: ${path.join(folder, 'notes.txt')} is not a folder\n`,
    );
    expect(await readdir(folder)).toEqual(['notes.txt']);
  });

  test('a --out whose parent does not exist', async () => {
    const folder = await temporaryFolder();
    const out = path.join(folder, 'missing', 'model');
    const result = await run(['quantize', '--mode', 'int8-weight-only', '--out', out]);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toBe(
      `ptq: --out ${out}: its parent folder ${path.join(folder, 'missing')} does not exist\n`,
    );
    expect(await readdir(folder)).toEqual([]);
  });

  test('an existing --out is refused without --force and left as it was', async () => {
    const folder = await temporaryFolder();
    const out = path.join(folder, 'model');
    await mkdir(out);
    await writeFile(path.join(out, 'keep.txt'), 'mine');
    const result = await run(['quantize', '--mode', 'int8-weight-only', '--out', out]);
    expect(result.exitCode).toBe(1);
    // --force would not help: the folder holds a file ptq did not write.
    expect(result.stderr).toBe(
      `ptq: --out ${out}: holds files ptq did not write (keep.txt; no ptq-manifest.json); choose another path\n`,
    );
    expect(await readdir(folder)).toEqual(['model']);
    expect(await readdir(out)).toEqual(['keep.txt']);
  });

  test('a missing model path fails after the --out check and writes nothing', async () => {
    const folder = await temporaryFolder();
    const model = path.join(folder, 'no-such-model');
    const result = await run([
      'quantize',
      '--model',
      model,
      '--mode',
      'int8-weight-only',
      '--out',
      path.join(folder, 'out'),
    ]);
    expect(result).toEqual({
      exitCode: 1,
      stdout: '',
      stderr: `ptq: ${model}: no such folder (and it is not a Hugging Face repo id)\n`,
    });
    expect(await readdir(folder)).toEqual([]);
  });

  test.each(['generate', 'eval'])('%s with a missing model path', async (command) => {
    const result = await run([command, '--model', './no/such/model', '--device', 'cpu']);
    expect(result).toEqual({
      exitCode: 1,
      stdout: '',
      stderr: 'ptq: ./no/such/model: no such folder (and it is not a Hugging Face repo id)\n',
    });
  });

  test('a missing calibration dataset fails before the model loads', async () => {
    const folder = await temporaryFolder();
    const dataset = path.join(folder, 'texts.jsonl');
    const result = await run([
      'quantize',
      '--mode',
      'float8',
      '--dataset',
      dataset,
      '--out',
      path.join(folder, 'out'),
    ]);
    expect(result).toEqual({ exitCode: 1, stdout: '', stderr: `ptq: ${dataset}: no such file or folder\n` });
    expect(await readdir(folder)).toEqual([]);
  });
});

describe('help', () => {
  test.each(COMMANDS.map((command) => command.name))(
    '"%s --help" lists its flags and examples, exit 0',
    async (name) => {
      const result = await run([name, '--help']);
      expect(result.exitCode).toBe(0);
      expect(result.stderr).toBe('');
      expect(result.stdout).toContain(`Usage: ptq ${name}`);
      expect(result.stdout).toContain('Examples:');
      expect(result.stdout).toMatch(new RegExp(`\\$ ptq ${name}( |$)`, 'm'));
      expect(result.stdout).toContain('--json');
      expect(result.stdout).toContain('--quiet');
    },
  );

  test('every example in help uses only flags its command has', () => {
    for (const command of COMMANDS) {
      const flags = new Set(
        Object.values(command.options).flatMap((spec) =>
          spec.flags.split(/[ ,|]+/).filter((part) => part.startsWith('-')),
        ),
      );
      for (const example of command.examples) {
        expect(example.command.startsWith(`ptq ${command.name}`)).toBe(true);
        for (const word of example.command.split(' ').filter((part) => part.startsWith('--'))) {
          expect(flags, `${example.command}: ${word}`).toContain(word);
        }
      }
    }
  });

  test('"ptq --help" lists every command', async () => {
    const result = await run(['--help']);
    expect(result.exitCode).toBe(0);
    for (const command of COMMANDS) expect(result.stdout).toMatch(new RegExp(`^  ${command.name}\\b`, 'm'));
  });

  test('"ptq" alone prints the help on stderr and exits 2', async () => {
    const result = await run([]);
    expect(result.exitCode).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('Usage: ptq');
  });

  test('"ptq --version" prints the package version', async () => {
    const { default: packageJson } = await import('../package.json', { with: { type: 'json' } });
    expect(await run(['--version'])).toEqual({ exitCode: 0, stdout: `${packageJson.version}\n`, stderr: '' });
  });
});
