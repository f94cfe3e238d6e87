import { mkdir, readdir, readFile, realpath, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { writeDirectoryAtomically } from '@ptq/export';
import { describe, expect, test } from 'vitest';
import { runCli } from '../run-cli';
import { captureIo } from '../test-support/capture-io';
import { temporaryFolder } from '../test-support/temporary-folder';

async function run(argv: string[]) {
  const io = captureIo();
  const exitCode = await runCli(argv, io);
  return { exitCode, stdout: io.stdoutText(), stderr: io.stderrText() };
}

/** A folder as ptq writes it (with its ptq-manifest.json), holding `config.json`. */
async function ptqOutput(folder: string): Promise<void> {
  await writeDirectoryAtomically(folder, {}, async (temporary) => {
    await writeFile(path.join(temporary, 'config.json'), '{"model_type": "gpt2"}');
  });
}

/** Every path under `folder` with file contents, to show that nothing changed. */
async function snapshot(folder: string): Promise<Record<string, string>> {
  const entries = await readdir(folder, { recursive: true, withFileTypes: true });
  const result: Record<string, string> = {};
  for (const entry of entries) {
    const file = path.join(entry.parentPath, entry.name);
    result[file] = entry.isFile() ? await readFile(file, 'utf8') : '<not a file>';
  }
  return result;
}

/** Runs `quantize` expecting a one-line refusal, with `folder` left exactly as it was. */
async function expectRefused(folder: string, argv: string[], stderr: string): Promise<void> {
  const before = await snapshot(folder);
  const result = await run(['quantize', '--mode', 'int8-weight-only', '--device', 'cpu', ...argv]);
  expect(result).toEqual({ exitCode: 1, stdout: '', stderr });
  expect(await snapshot(folder)).toEqual(before);
}

/** Runs `body` with `folder` as the working folder. */
async function inFolder(folder: string, body: () => Promise<void>): Promise<void> {
  const previous = process.cwd();
  process.chdir(folder);
  try {
    await body();
  } finally {
    process.chdir(previous);
  }
}

describe('--force replaces only an earlier ptq output, never anything else', () => {
  test('--out . --force: the working folder is never replaced, even when it is a ptq output', async () => {
    const folder = await realpath(await temporaryFolder());
    const project = path.join(folder, 'project');
    await ptqOutput(project);
    await inFolder(project, () =>
      expectRefused(
        folder,
        ['--out', '.', '--force'],
        'ptq: --out .: is the working folder; choose another path\n',
      ),
    );
  });

  test('--out .. --force from a subfolder: a folder holding the working folder is never replaced', async () => {
    const folder = await realpath(await temporaryFolder());
    const sub = path.join(folder, 'project', 'sub');
    await mkdir(sub, { recursive: true });
    await writeFile(path.join(folder, 'project', 'thesis.tex'), 'years of work');
    await inFolder(sub, () =>
      expectRefused(
        folder,
        ['--out', '..', '--force'],
        `ptq: --out ..: holds the working folder ${sub}; choose another path\n`,
      ),
    );
  });

  test('--model m --out m --force: the model folder, a folder inside it or around it', async () => {
    const folder = await realpath(await temporaryFolder());
    const model = path.join(folder, 'models', 'm');
    // A model folder that even looks like a ptq output: only the model rule refuses it.
    await ptqOutput(model);
    await expectRefused(
      folder,
      ['--model', model, '--out', model, '--force'],
      `ptq: --out ${model}: is the folder of the model being read; choose another path\n`,
    );
    await writeDirectoryAtomically(path.join(model, 'q'), {}, async () => {});
    await expectRefused(
      folder,
      ['--model', model, '--out', path.join(model, 'q'), '--force'],
      `ptq: --out ${path.join(model, 'q')}: is inside the folder of the model being read (${model}); choose another path\n`,
    );
    await expectRefused(
      folder,
      ['--model', model, '--out', path.join(folder, 'models'), '--force'],
      `ptq: --out ${path.join(folder, 'models')}: holds the folder of the model being read (${model}); choose another path\n`,
    );
  });

  test('a symbolic link to a ptq output is not replaced (nor what it points to)', async () => {
    const folder = await realpath(await temporaryFolder());
    await ptqOutput(path.join(folder, 'real'));
    await symlink(path.join(folder, 'real'), path.join(folder, 'link'));
    await expectRefused(
      folder,
      ['--out', path.join(folder, 'link'), '--force'],
      `ptq: --out ${path.join(folder, 'link')}: is a symbolic link; ptq never replaces a link or what it points to; choose another path\n`,
    );
  });

  test('a ptq output to which the user added a file is not replaced', async () => {
    const folder = await realpath(await temporaryFolder());
    const out = path.join(folder, 'out');
    await ptqOutput(out);
    await writeFile(path.join(out, 'my-notes.md'), 'mine');
    await expectRefused(
      folder,
      ['--out', out, '--force'],
      `ptq: --out ${out}: is a ptq output to which files were added (my-notes.md); choose another path\n`,
    );
  });

  test('without --force, only an earlier ptq output suggests --force', async () => {
    const folder = await realpath(await temporaryFolder());
    const out = path.join(folder, 'out');
    await ptqOutput(out);
    await expectRefused(
      folder,
      ['--out', out],
      `ptq: --out ${out}: already holds an earlier ptq output; pass --force to replace it\n`,
    );
  });

  // Quantizes the bundled model and writes its export.
  test('--force replaces an earlier ptq output with the new export and its manifest', async () => {
    const folder = await realpath(await temporaryFolder());
    const out = path.join(folder, 'out');
    await ptqOutput(out);
    const result = await run([
      'quantize',
      '--mode',
      'int8-weight-only',
      '--device',
      'cpu',
      '--out',
      out,
      '--force',
      '--json',
      '--quiet',
    ]);
    expect({ exitCode: result.exitCode, stderr: result.stderr }).toEqual({ exitCode: 0, stderr: '' });
    const written = JSON.parse(result.stdout) as { files: string[] };
    expect(written.files).toContain('ptq-manifest.json');
    const manifest = JSON.parse(await readFile(path.join(out, 'ptq-manifest.json'), 'utf8')) as {
      files: { path: string }[];
    };
    expect(manifest.files.map((entry) => entry.path)).toEqual(
      written.files.filter((file) => file !== 'ptq-manifest.json'),
    );
    expect(await readdir(folder)).toEqual(['out']);
  }, 120_000);
});
