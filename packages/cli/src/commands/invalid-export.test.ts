import { cp, mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { runCli } from '../run-cli';
import { captureIo } from '../test-support/capture-io';
import { temporaryFolder } from '../test-support/temporary-folder';

async function run(argv: string[]) {
  const io = captureIo();
  const exitCode = await runCli(argv, io);
  return { exitCode, stdout: io.stdoutText(), stderr: io.stderrText() };
}

let shared = '';
let exported = '';

// One export for the whole file (temporaryFolder's folders last one test only).
beforeAll(async () => {
  shared = await mkdtemp(path.join(tmpdir(), 'ptq-cli-invalid-export-'));
  exported = path.join(shared, 'int8');
  const result = await run([
    'quantize',
    '--mode',
    'int8-weight-only',
    '--device',
    'cpu',
    '--out',
    exported,
    '--quiet',
  ]);
  expect(result.exitCode).toBe(0);
}, 120_000);

afterAll(async () => {
  await rm(shared, { recursive: true, force: true });
});

/** A copy of the export, for breaking. */
async function copyOfExport(): Promise<string> {
  const copy = path.join(await temporaryFolder(), 'broken');
  await cp(exported, copy, { recursive: true });
  return copy;
}

/** Overwrites float32 element `index` of `tensor` in `file` in place, found through the safetensors header. */
async function setFloat32(file: string, tensor: string, index: number, value: number): Promise<void> {
  const handle = await open(file, 'r+');
  try {
    const prefix = new Uint8Array(8);
    await handle.read(prefix, 0, 8, 0);
    const headerLength = Number(new DataView(prefix.buffer).getBigUint64(0, true));
    const header = new Uint8Array(headerLength);
    await handle.read(header, 0, headerLength, 8);
    const entry = JSON.parse(new TextDecoder().decode(header))[tensor] as {
      dtype: string;
      data_offsets: number[];
    };
    expect(entry.dtype).toBe('F32');
    const bytes = new Uint8Array(4);
    new DataView(bytes.buffer).setFloat32(0, value, true);
    await handle.write(bytes, 0, 4, 8 + headerLength + entry.data_offsets[0]! + 4 * index);
  } finally {
    await handle.close();
  }
}

describe('an invalid export: inspect and generate exit 1 with one line naming the file and tensor', () => {
  test.each([
    [Number.NaN, 'NaN'],
    [-2, '-2'],
  ])('a weight_scale holding %s', async (value, shown) => {
    const folder = await copyOfExport();
    const scale = 'transformer.h.1.mlp.c_fc.weight_scale';
    await setFloat32(path.join(folder, 'model.safetensors'), scale, 3, value);
    const line = `ptq: ${path.join(folder, 'model.safetensors')}: tensor "${scale}" holds ${shown} at index 3; a scale must be a finite number > 0\n`;
    expect(await run(['inspect', folder])).toEqual({ exitCode: 1, stdout: '', stderr: line });
    expect(
      await run(['generate', '--model', folder, '--device', 'cpu', '--max-new-tokens', '1', '--quiet']),
    ).toEqual({
      exitCode: 1,
      stdout: '',
      stderr: line,
    });
  });

  test('an int8 export whose hf_quant_config.json says W4A16_AWQ is not reported as int4', async () => {
    const folder = await copyOfExport();
    const configFile = path.join(folder, 'hf_quant_config.json');
    const config = JSON.parse(await readFile(configFile, 'utf8'));
    config.quantization.quant_algo = 'W4A16_AWQ';
    await writeFile(configFile, JSON.stringify(config));
    expect(await run(['inspect', folder, '--json'])).toEqual({
      exitCode: 1,
      stdout: '',
      stderr: `ptq: ${path.join(folder, 'model.safetensors')}: tensor "transformer.h.0.attn.c_attn.weight" is I8 (W8A16's codes), but hf_quant_config.json says W4A16_AWQ, whose weights are U8: the export contradicts itself\n`,
    });
  });

  test('the valid export inspects with exit 0', async () => {
    const result = await run(['inspect', exported, '--json']);
    expect(result.exitCode).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ mode: 'int8-weight-only', quantAlgo: 'W8A16' });
  });
});
