import { describe, expect, test } from 'vitest';
import { captureIo } from '../test-support/capture-io';
import { createProgress, lineProgress, progressStyleFor } from './progress';

describe('progressStyleFor', () => {
  test.each([
    [true, false, 'bars'],
    [false, false, 'lines'],
    [undefined, false, 'lines'],
    [true, true, 'silent'],
    [false, true, 'silent'],
  ] as const)('stderr isTTY %s, quiet %s → %s', (isTTY, quiet, style) => {
    expect(progressStyleFor({ write: () => {}, isTTY }, quiet)).toBe(style);
  });
});

describe('lineProgress', () => {
  test('prints at every tenth of the work and at the end', () => {
    const io = captureIo();
    const task = lineProgress(io.stderr).task('calibrate', 20);
    for (let done = 1; done <= 20; done++) task.update(done);
    task.finish();
    // floor(done / 20 · 10) steps up at 1 (step 0), 2, 4, 6, …, 20.
    const expected = [1, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20].map((done) => `calibrate ${done}/20\n`).join('');
    expect(io.stderrText()).toBe(expected);
  });

  test('a short task prints every step', () => {
    const io = captureIo();
    const task = lineProgress(io.stderr).task('eval', 3);
    for (let done = 1; done <= 3; done++) task.update(done);
    task.finish();
    expect(io.stderrText()).toBe('eval 1/3\neval 2/3\neval 3/3\n');
  });

  test('a task that stops early prints where it stopped', () => {
    const io = captureIo();
    const task = lineProgress(io.stderr).task('calibrate', 100);
    for (let done = 1; done <= 15; done++) task.update(done);
    task.finish();
    expect(io.stderrText()).toBe('calibrate 1/100\ncalibrate 10/100\ncalibrate 15/100\n');
  });

  test('a task that outgrows its total reports the larger total', () => {
    const io = captureIo();
    const task = lineProgress(io.stderr).task('calibrate', 2);
    task.update(1);
    task.update(2);
    task.update(3);
    expect(io.stderrText()).toBe('calibrate 1/2\ncalibrate 2/2\ncalibrate 3/3\n');
  });
});

describe('createProgress', () => {
  test('silent writes nothing', async () => {
    const io = captureIo();
    const progress = await createProgress(io.stderr, 'silent');
    progress.task('calibrate', 4).update(4);
    progress.log('ptq: a notice');
    progress.stop();
    expect(io.stderrText()).toBe('');
  });

  test('lines: logs go straight to stderr', async () => {
    const io = captureIo();
    const progress = await createProgress(io.stderr, 'lines');
    progress.log('ptq: a notice');
    expect(progress.style).toBe('lines');
    expect(io.stderrText()).toBe('ptq: a notice\n');
  });
});

describe('bars (cli-progress) on a terminal', () => {
  test('draws a labelled bar with the count, and logs above it', async () => {
    const written: string[] = [];
    // The parts of a tty.WriteStream cli-progress uses.
    const terminal = {
      isTTY: true,
      columns: 100,
      write: (chunk: string) => written.push(chunk),
      cursorTo: () => true,
      moveCursor: () => true,
      clearLine: () => true,
      clearScreenDown: () => true,
    };
    const progress = await createProgress(terminal, 'bars');
    expect(progress.style).toBe('bars');
    const task = progress.task('calibrate', 4);
    task.update(4);
    progress.log('ptq: a notice');
    task.finish();
    progress.stop();
    const text = written.join('');
    expect(text).toContain('calibrate [');
    expect(text).toContain('4/4');
    expect(text).toContain('ptq: a notice\n');
  });
});
