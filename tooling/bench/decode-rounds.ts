// Decode speed against PyTorch over several rounds, one process of each per round, so that the
// host's load, which moves a process's figures by up to 40% from one process to the next, shows as
// a spread instead of deciding a single comparison. `run-decode-rounds.sh` runs the rounds; this
// reads their JSON files and prints, per configuration, each round's tok/s, the median over rounds
// and the ratio to PyTorch's best `generate` in the same round.
//
//   node .bench/decode-rounds.js --dir <rounds folder> --out decode-rounds.json
//
// The folder holds `ptq-<round>.json` (`decode-throughput`'s output) and `pytorch-<round>.json`
// (`pytorch_baselines.py`'s).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { flag, type Machine, median, printTable, writeJson } from './report';

interface PtqRow {
  mode: string;
  dtype: string;
  choice: string;
  decodeTokensPerSecond: number;
  prefillMs: number;
}

interface PytorchRow {
  attention: string;
  dtype: string;
  decodeTokensPerSecond: number;
}

const folder = flag('dir', '');
const out = flag('out', 'bench-results/decode-rounds.json');
if (folder === '') throw new Error('--dir <rounds folder> is required');

const readJson = (name: string): unknown => JSON.parse(readFileSync(join(folder, name), 'utf8'));
const roundOf = (name: string, kind: string) => name.match(new RegExp(`^${kind}-(\\d+)\\.json$`))?.[1];
const files = readdirSync(folder);
const rounds = [...new Set(files.map((name) => roundOf(name, 'ptq')).filter((round) => round !== undefined))]
  .filter((round) => files.includes(`pytorch-${round}.json`))
  .sort((left, right) => Number(left) - Number(right));
if (rounds.length === 0) throw new Error(`${folder} holds no round with both ptq-N.json and pytorch-N.json`);

const ptqFiles = rounds.map((round) => readJson(`ptq-${round}.json`) as { rows: PtqRow[]; machine: Machine });
const pytorchFiles = rounds.map(
  (round) => readJson(`pytorch-${round}.json`) as { generate: PytorchRow[]; gpu: string },
);
const ptq = ptqFiles.map((file) => file.rows);
const pytorch = pytorchFiles.map((file) => file.generate);
const gpu = pytorchFiles[0]!.gpu;
// The machine the rounds ran on, as the ptq process saw it (not where this summary runs).
const host = ptqFiles[0]!.machine;

/** Each key's decode tok/s in every round (NaN where a round lacks it), keys in order of first appearance. */
function byKey<Row extends { decodeTokensPerSecond: number }>(
  roundsRows: Row[][],
  key: (row: Row) => string,
): Array<{ key: string; perRound: number[] }> {
  return [...new Set(roundsRows.flat().map(key))].map((wanted) => ({
    key: wanted,
    perRound: roundsRows.map(
      (rows) => rows.find((row) => key(row) === wanted)?.decodeTokensPerSecond ?? Number.NaN,
    ),
  }));
}

/** PyTorch's fastest variant in each round: the figure ptq is measured against. */
const pytorchBest = pytorch.map((rows) => Math.max(...rows.map((row) => row.decodeTokensPerSecond)));
const pytorchBestMedian = median(pytorchBest);
const pytorchRows = byKey(pytorch, (row) => `${row.attention} ${row.dtype}`).map(({ key, perRound }) => ({
  variant: key,
  perRound,
  median: median(perRound),
}));
const ptqRows = byKey(ptq, (row) => `${row.mode}/${row.dtype}/${row.choice}`).map(({ key, perRound }) => {
  const ratios = perRound.map((tokensPerSecond, round) => tokensPerSecond / pytorchBest[round]!);
  return {
    configuration: key,
    perRound,
    median: median(perRound),
    ratioOfMedians: median(perRound) / pytorchBestMedian,
    perRoundRatios: ratios,
    medianRatio: median(ratios),
    roundsAtTwice: ratios.filter((ratio) => ratio >= 2).length,
  };
});

const title = `over ${rounds.length} rounds — ${gpu}; ${host.cpu} × ${host.cores}; Node ${host.node}`;
printTable(
  `PyTorch generate decode tok/s ${title}`,
  ['variant', 'per round', 'median'],
  [
    ...pytorchRows.map((row) => [
      row.variant,
      row.perRound.map((value) => value.toFixed(1)).join(', '),
      row.median,
    ]),
    ['best of each round', pytorchBest.map((value) => value.toFixed(1)).join(', '), pytorchBestMedian],
  ],
);
printTable(
  `ptq decode tok/s ${title}; ratio: to PyTorch's best in the same round`,
  [
    'mode/dtype/tokens chosen',
    'per round',
    'median',
    'median ÷ PyTorch median',
    'ratio per round',
    'median ratio',
    'rounds ≥ 2×',
  ],
  ptqRows.map((row) => [
    row.configuration,
    row.perRound.map((value) => value.toFixed(0)).join(', '),
    row.median,
    row.ratioOfMedians,
    row.perRoundRatios.map((value) => value.toFixed(2)).join(', '),
    row.medianRatio,
    `${row.roundsAtTwice} of ${rounds.length}`,
  ]),
);
writeJson(out, {
  machine: host,
  gpu,
  rounds: rounds.length,
  pytorch: pytorchRows,
  pytorchBest,
  ptq: ptqRows,
});
