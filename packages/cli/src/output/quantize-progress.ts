import type { QuantizeProgress } from '@ptq/quant-core';
import type { Progress, ProgressTask } from './progress';

/**
 * Turns `modelOptQuantize` progress events into progress tasks. Calibration batches are numbered
 * across passes over the data, `passBatches` to a pass: a pass is `calibrate` (max calibration),
 * or for AWQ-lite the `awq cache` pass (announced by an `awq-cache` event) and then `awq capture`
 * passes, each followed by the `awq search` of the linears it captured. Block-by-block calibration
 * (the default) first records the loop's batches (`calibrate` events, instant), then shows one task
 * over blocks × batches (`calibrate-block`); its per-block AWQ searches are part of that task.
 */
export function quantizeProgressHandler(
  progress: Progress,
  passBatches: number,
): { onProgress: (event: QuantizeProgress) => void; finish: () => void } {
  let awq = false;
  let blockByBlock = false;
  let task: ProgressTask | undefined;
  let taskKey: string | undefined;
  const show = (key: string, label: string, done: number, total: number) => {
    if (key !== taskKey) {
      task?.finish();
      task = progress.task(label, total);
      taskKey = key;
    }
    task?.update(done, total);
  };
  return {
    onProgress(event) {
      if (event.phase === 'awq-cache') {
        awq = true;
        return;
      }
      if (event.phase === 'calibrate') {
        const pass = Math.floor((event.batch - 1) / passBatches);
        const label = !awq ? 'calibrate' : pass === 0 ? 'awq cache' : 'awq capture';
        show(`pass ${pass}`, label, event.batch - pass * passBatches, passBatches);
        return;
      }
      if (event.phase === 'calibrate-block') {
        blockByBlock = true;
        show('blocks', 'calibrate blocks', event.done, event.total);
        return;
      }
      if (blockByBlock) return;
      show('awq-search', 'awq search', event.index ?? 0, event.total ?? 0);
    },
    finish() {
      task?.finish();
      task = undefined;
      taskKey = undefined;
    },
  };
}
