// Opening a block session and its first and second runs, per block and tap set, on the bundled
// model (or a model folder): one batch of `--batch` rows × 512 tokens. Shows what a block's first
// run costs over later ones (fresh pages, kernel set-up).
// Run: tsup --config ../../tooling/bench/tsup.config.ts --silent bench/block-session-runs.ts &&
//   node ../../.bench/block-session-runs.js [--model <folder>] [--device cpu] [--batch 16]
import { DEFAULT_MODEL_DIR } from '@ptq/default-model';
import type { Device } from '@ptq/onnx';
import { createTensor } from '@ptq/tensor';
import { flag, machine, printTable } from '../../../tooling/bench/report';
import { embedBatch, Gpt2BlockSession, gpt2LinearPaths, loadHfGpt2, type TapRequest } from '../src/index';

const folder = flag('model', DEFAULT_MODEL_DIR);
const device = flag('device', 'cpu') as Device;
const batch = Number(flag('batch', '16'));
const sequence = 512;
const model = await loadHfGpt2(folder, { device, onNotice: () => {} });
const count = batch * sequence;
const ids = createTensor(
  'int64',
  [batch, sequence],
  BigInt64Array.from({ length: count }, (_, i) => BigInt((i * 7919) % model.config.vocab_size)),
);
const mask = createTensor('int64', [batch, sequence], new BigInt64Array(count).fill(1n));
const realTokenIndices = Array.from({ length: count }, (_, index) => index);
const hidden = embedBatch(model.transformer, ids, mask);
const source = {
  config: model.config,
  transformer: model.transformer,
  linear: (path: string) => model.linear(path),
};
const TAP_SETS: Record<string, (module: string) => TapRequest | undefined> = {
  none: () => undefined,
  'AWQ (mean abs, inputs)': (module) => ({ module, absMeanPerChannel: true, input: true }),
  'max abs': (module) => ({ module, absMax: true }),
};
const rows: (string | number)[][] = [];
for (const [name, tap] of Object.entries(TAP_SETS)) {
  for (const layer of [0, 1]) {
    const paths = gpt2LinearPaths(model.config.n_layer).filter((path) =>
      path.startsWith(`transformer.h.${layer}.`),
    );
    const taps = paths.map(tap).filter((request) => request !== undefined);
    let started = performance.now();
    const session = await Gpt2BlockSession.open(source, layer, taps, { device, outputs: true });
    const open = performance.now() - started;
    const times = [];
    for (let run = 0; run < 2; run++) {
      started = performance.now();
      await session.run({ ...hidden, attentionMask: mask, realTokenIndices });
      times.push(performance.now() - started);
    }
    await session.release();
    rows.push([name, layer, open, times[0]!, times[1]!]);
  }
}
const host = machine();
printTable(
  `Block sessions of ${folder === DEFAULT_MODEL_DIR ? 'the bundled model' : folder}, ${batch} × ${sequence} tokens, ${device} (${host.cpu}, ${host.cores} cores)`,
  ['taps', 'block', 'open ms', 'first run ms', 'second run ms'],
  rows,
);
