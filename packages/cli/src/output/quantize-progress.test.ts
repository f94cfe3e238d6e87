import type { QuantizeProgress } from '@ptq/quant-core';
import { describe, expect, test } from 'vitest';
import type { Progress } from './progress';
import { quantizeProgressHandler } from './quantize-progress';

/** A progress display that records what it was asked to show. */
function recordingProgress() {
  const calls: string[] = [];
  const progress: Progress = {
    style: 'lines',
    task(label, total) {
      calls.push(`start ${label} /${total}`);
      return {
        update: (done, newTotal) => calls.push(`${label} ${done}/${newTotal ?? total}`),
        finish: () => calls.push(`finish ${label}`),
      };
    },
    log: () => {},
    stop: () => {},
  };
  return { progress, calls };
}

describe('quantizeProgressHandler', () => {
  test('max calibration: one pass of batches', () => {
    const { progress, calls } = recordingProgress();
    const handler = quantizeProgressHandler(progress, 3);
    for (const batch of [1, 2, 3]) handler.onProgress({ phase: 'calibrate', batch });
    handler.finish();
    expect(calls).toEqual([
      'start calibrate /3',
      'calibrate 1/3',
      'calibrate 2/3',
      'calibrate 3/3',
      'finish calibrate',
    ]);
  });

  test('AWQ-lite: the cache pass, then capture passes each followed by their searches', () => {
    const { progress, calls } = recordingProgress();
    const handler = quantizeProgressHandler(progress, 2);
    const events: QuantizeProgress[] = [
      { phase: 'awq-cache' },
      { phase: 'calibrate', batch: 1 },
      { phase: 'calibrate', batch: 2 },
      // First group of linears: its capture pass, then its searches.
      { phase: 'calibrate', batch: 3 },
      { phase: 'calibrate', batch: 4 },
      { phase: 'awq-search', index: 1, total: 3 },
      { phase: 'awq-search', index: 2, total: 3 },
      // Second group.
      { phase: 'calibrate', batch: 5 },
      { phase: 'calibrate', batch: 6 },
      { phase: 'awq-search', index: 3, total: 3 },
    ];
    for (const event of events) handler.onProgress(event);
    handler.finish();
    expect(calls).toEqual([
      'start awq cache /2',
      'awq cache 1/2',
      'awq cache 2/2',
      'finish awq cache',
      'start awq capture /2',
      'awq capture 1/2',
      'awq capture 2/2',
      'finish awq capture',
      'start awq search /3',
      'awq search 1/3',
      'awq search 2/3',
      'finish awq search',
      'start awq capture /2',
      'awq capture 1/2',
      'awq capture 2/2',
      'finish awq capture',
      'start awq search /3',
      'awq search 3/3',
      'finish awq search',
    ]);
  });

  test('block by block: recorded batches, then one task over blocks × batches that covers the searches', () => {
    const { progress, calls } = recordingProgress();
    const handler = quantizeProgressHandler(progress, 2);
    const block = (blockIndex: number, batch: number) =>
      ({
        phase: 'calibrate-block',
        block: blockIndex,
        blocks: 2,
        batch,
        batches: 2,
        done: (blockIndex - 1) * 2 + batch,
        total: 4,
      }) as const;
    const events: QuantizeProgress[] = [
      { phase: 'calibrate', batch: 1 },
      { phase: 'calibrate', batch: 2 },
      block(1, 1),
      block(1, 2),
      { phase: 'awq-search', linear: 'transformer.h.0.attn.c_attn', index: 1, total: 8 },
      block(2, 1),
      block(2, 2),
      { phase: 'awq-search', linear: 'transformer.h.1.attn.c_attn', index: 5, total: 8 },
    ];
    for (const event of events) handler.onProgress(event);
    handler.finish();
    expect(calls).toEqual([
      'start calibrate /2',
      'calibrate 1/2',
      'calibrate 2/2',
      'finish calibrate',
      'start calibrate blocks /4',
      'calibrate blocks 1/4',
      'calibrate blocks 2/4',
      'calibrate blocks 3/4',
      'calibrate blocks 4/4',
      'finish calibrate blocks',
    ]);
  });
});
