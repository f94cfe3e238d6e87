import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { NotEnoughSamplesError } from '@ptq/calibration';
import { expect, test } from 'vitest';
import { temporaryFolder } from '../test-support/temporary-folder';
import { HELD_OUT_TEXT_LIMIT, loadCalibrationAndHeldOut } from './calibration-texts';

async function lines(count: number): Promise<string> {
  const file = path.join(await temporaryFolder(), 'texts.txt');
  await writeFile(file, Array.from({ length: count }, (_, index) => `text ${index}`).join('\n'));
  return file;
}

test('calibration takes the first texts; the held-out slice the next ones, at most 64', async () => {
  const file = await lines(100);
  const notices: string[] = [];
  const loaded = await loadCalibrationAndHeldOut(file, 16, { split: 'lines' }, (line) => notices.push(line));
  expect(loaded.calibration).toEqual(Array.from({ length: 16 }, (_, index) => `text ${index}`));
  expect(loaded.heldOut).toHaveLength(HELD_OUT_TEXT_LIMIT);
  expect(loaded.heldOut[0]).toBe('text 16');
  expect(loaded.heldOut.at(-1)).toBe('text 79');
  expect(notices).toEqual([`ptq: using 80 calibration texts from ${file} (one text per line)`]);
});

test('a short dataset: the held-out slice is what is left after calibration, possibly nothing', async () => {
  const file = await lines(20);
  const loaded = await loadCalibrationAndHeldOut(file, 16, { split: 'lines' }, () => {});
  expect(loaded.heldOut).toEqual(['text 16', 'text 17', 'text 18', 'text 19']);
  expect((await loadCalibrationAndHeldOut(file, 20, { split: 'lines' }, () => {})).heldOut).toEqual([]);
  // A mode that calibrates on nothing holds out every text.
  const none = await loadCalibrationAndHeldOut(file, 0, { split: 'lines' }, () => {});
  expect(none.calibration).toEqual([]);
  expect(none.heldOut).toHaveLength(20);
});

test("fewer texts than calibration needs is calibration's error, asking for its own count", async () => {
  const file = await lines(5);
  const error = await loadCalibrationAndHeldOut(file, 16, { split: 'lines' }, () => {}).catch(
    (caught) => caught,
  );
  expect(error).toBeInstanceOf(NotEnoughSamplesError);
  expect(error).toMatchObject({ requested: 16, available: 5 });
});
