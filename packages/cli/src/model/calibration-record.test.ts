import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { OUTPUT_MANIFEST_FILE, readOutputManifest } from '@ptq/export';
import { expect, test } from 'vitest';
import { temporaryFolder } from '../test-support/temporary-folder';
import { readCalibrationRecord, recordCalibration } from './calibration-record';

async function folderWithManifest(producer: Record<string, unknown> = {}): Promise<string> {
  const folder = await temporaryFolder();
  await writeFile(path.join(folder, 'config.json'), '{}');
  const manifest = {
    producer: { name: 'ptq', version: '0.1.0', ...producer },
    files: [{ path: 'config.json', bytes: 2 }],
  };
  await writeFile(path.join(folder, OUTPUT_MANIFEST_FILE), JSON.stringify(manifest));
  return folder;
}

test("the record goes into the manifest's producer section and reads back; the files list stays", async () => {
  const folder = await folderWithManifest();
  await recordCalibration(folder, { dataset: 'news.jsonl', samples: 16, field: 'body', encoding: 'latin1' });
  const manifest = JSON.parse(await readFile(path.join(folder, OUTPUT_MANIFEST_FILE), 'utf8'));
  expect(manifest).toEqual({
    producer: {
      name: 'ptq',
      version: '0.1.0',
      calibration: { dataset: 'news.jsonl', samples: 16, field: 'body', encoding: 'latin1' },
    },
    files: [{ path: 'config.json', bytes: 2 }],
  });
  // Still a manifest ptq reads as its own, and no temporary file is left.
  expect(typeof (await readOutputManifest(folder))).toBe('object');
  expect((await readdir(folder)).sort()).toEqual(['config.json', OUTPUT_MANIFEST_FILE]);
  expect(await readCalibrationRecord(folder)).toEqual({
    dataset: 'news.jsonl',
    samples: 16,
    field: 'body',
    encoding: 'latin1',
  });
});

test.each([
  ['no record', {}],
  ['a record that is not an object', { calibration: 'cnn_dailymail' }],
  ['an empty dataset', { calibration: { dataset: '', samples: 16 } }],
  ['a negative sample count', { calibration: { dataset: 'wikitext', samples: -1 } }],
  ['a fractional sample count', { calibration: { dataset: 'wikitext', samples: 1.5 } }],
  ['an unknown split', { calibration: { dataset: 'a.txt', samples: 1, split: 'words' } }],
  ['an unknown encoding', { calibration: { dataset: 'a.txt', samples: 1, encoding: 'ascii' } }],
  ['a field that is not text', { calibration: { dataset: 'a.jsonl', samples: 1, field: 3 } }],
])('%s: no record (eval falls back to its default text)', async (_name, producer) => {
  expect(await readCalibrationRecord(await folderWithManifest(producer))).toBeUndefined();
});

test('a folder without a manifest, or no folder, has no record and gets none', async () => {
  const folder = await temporaryFolder();
  await recordCalibration(folder, { dataset: 'wikitext', samples: 1 });
  expect(await readdir(folder)).toEqual([]);
  expect(await readCalibrationRecord(path.join(folder, 'missing'))).toBeUndefined();
});
