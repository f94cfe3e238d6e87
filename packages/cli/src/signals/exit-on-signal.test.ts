import { type ChildProcess, spawn } from 'node:child_process';
import { watch } from 'node:fs';
import { mkdir, readdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { runCli } from '../run-cli';
import { captureIo } from '../test-support/capture-io';
import { buildCliBundle } from '../test-support/cli-bundle';
import { temporaryFolder } from '../test-support/temporary-folder';

let bundle: Awaited<ReturnType<typeof buildCliBundle>>;

beforeAll(async () => {
  bundle = await buildCliBundle();
}, 120_000);

afterAll(async () => {
  await bundle?.remove();
});

interface Finished {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stderr: string;
  /** Whether the signal was sent while the temporary folder existed. */
  readonly sent: boolean;
}

/**
 * Runs `ptq quantize` in a child process writing `out`, and sends `signal` the moment its
 * temporary folder appears beside `out`.
 */
function quantizeAndSignal(out: string, signal: NodeJS.Signals | 'SIGKILL'): Promise<Finished> {
  const parent = path.dirname(out);
  return new Promise((resolve, reject) => {
    let sent = false;
    let stderr = '';
    const watcher = watch(parent, (_event, name) => {
      if (!sent && name !== null && name.startsWith(`.${path.basename(out)}.tmp-`)) {
        sent = true;
        child.kill(signal);
      }
    });
    const child: ChildProcess = spawn(
      process.execPath,
      [bundle.file, 'quantize', '--mode', 'int8-weight-only', '--device', 'cpu', '--out', out, '--quiet'],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('error', reject);
    child.on('exit', (code, exitSignal) => {
      watcher.close();
      resolve({ code, signal: exitSignal, stderr, sent });
    });
  });
}

describe('a signal during the export', () => {
  test.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const)(
    '%s removes the temporary folder and exits with %i',
    async (signal, exitCode) => {
      const parent = await temporaryFolder();
      await mkdir(path.join(parent, 'user-folder'));
      const result = await quantizeAndSignal(path.join(parent, 'out'), signal);
      expect(result.sent).toBe(true);
      expect(result).toMatchObject({ code: exitCode, signal: null });
      expect(result.stderr.trim().split('\n').at(-1)).toBe(
        `ptq: stopped by ${signal}; temporary files removed, nothing written`,
      );
      expect(await readdir(parent)).toEqual(['user-folder']);
    },
    120_000,
  );
});

describe('temporaries of a process that died', () => {
  test('are swept by the next quantize into the same folder, which writes its own output', async () => {
    const parent = await temporaryFolder();
    // SIGKILL cannot be handled: the temporary folder stays, as after a crash or power loss.
    const killed = await quantizeAndSignal(path.join(parent, 'first'), 'SIGKILL');
    expect(killed).toMatchObject({ sent: true, signal: 'SIGKILL' });
    const left = await readdir(parent);
    expect(left).toHaveLength(1);
    expect(left[0]).toMatch(/^\.first\.tmp-\d+-[0-9a-f]{8}$/);

    const io = captureIo();
    const exitCode = await runCli(
      [
        'quantize',
        '--mode',
        'int8-weight-only',
        '--device',
        'cpu',
        '--out',
        path.join(parent, 'second'),
        '--quiet',
      ],
      io,
    );
    expect({ exitCode, stderr: io.stderrText() }).toEqual({ exitCode: 0, stderr: '' });
    expect(await readdir(parent)).toEqual(['second']);
  }, 120_000);
});
