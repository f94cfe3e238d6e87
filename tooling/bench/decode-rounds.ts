// Decode speed against PyTorch over several rounds, one process of each per round, so that the
// host's load, which moves a process's figures by up to 40% from one process to the next, shows as
// a spread instead of deciding a single comparison. `run-decode-rounds.sh` runs the rounds; this
// reads their JSON files and prints, per configuration, each round's tok/s, the median over rounds
// and the ratio to PyTorch's best `generate` in the same round.
//
//   node .bench/decode-rounds.js --dir <rounds folder> --out decode-rounds.json
//
// The folder holds `ptq-<round>.json` (`decode-throughput`'s output) and `pytorch-<round>.json`
// (`pytorch_baselines.py`'s); either may be split in parts, `ptq-<round>-<engine>.json` and
// `pytorch-<round>-compiled.json` (the compiled variant, run as its own step).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { flag, type Machine, median, printTable, writeJson } from './report';

/** The median of the rounds that have a figure (a round may lack a configuration); NaN if none has. */
const medianOfMeasured = (values: readonly number[]): number => {
  const measured = values.filter(Number.isFinite);
  return measured.length === 0 ? Number.NaN : median(measured);
};

interface PtqRow {
  engine?: string;
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
// `<kind>-<round>.json`, or one file per part: `ptq-<round>-<engine>.json`, `pytorch-<round>-compiled.json`.
const roundOf = (name: string, kind: string) =>
  name.match(new RegExp(`^${kind}-(\\d+)(?:-[a-z]+)?\\.json$`))?.[1];
const files = readdirSync(folder);
const rounds = [...new Set(files.map((name) => roundOf(name, 'ptq')).filter((round) => round !== undefined))]
  .filter((round) => files.some((name) => roundOf(name, 'pytorch') === round))
  .sort((left, right) => Number(left) - Number(right));
if (rounds.length === 0) throw new Error(`${folder} holds no round with both ptq-N and pytorch-N files`);

const partsOf = <Part>(kind: string, round: string): Part[] =>
  files
    .filter((name) => name.startsWith(`${kind}-`) && roundOf(name, kind) === round)
    .map((name) => readJson(name) as Part);
const ptqFiles = rounds.map((round) => {
  const parts = partsOf<{ rows: PtqRow[]; machine: Machine }>('ptq', round);
  return { rows: parts.flatMap((part) => part.rows), machine: parts[0]!.machine };
});
const pytorchFiles = rounds.map((round) => {
  const parts = partsOf<{ generate: PytorchRow[]; gpu: string }>('pytorch', round);
  return { generate: parts.flatMap((part) => part.generate), gpu: parts[0]!.gpu };
});
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

const isCompiled = (row: PytorchRow) => row.attention.includes('compile');
/** PyTorch's fastest eager `generate` variant in each round: the figure ptq is measured against. */
const pytorchBest = pytorch.map((rows) =>
  Math.max(...rows.filter((row) => !isCompiled(row)).map((row) => row.decodeTokensPerSecond)),
);
const pytorchBestMedian = medianOfMeasured(pytorchBest);
/** The static-cache, `torch.compile(mode="reduce-overhead")` variant's best in each round (NaN without it). */
const compiledBest = pytorch.map((rows) => {
  const found = rows.filter(isCompiled).map((row) => row.decodeTokensPerSecond);
  return found.length === 0 ? Number.NaN : Math.max(...found);
});
const pytorchRows = byKey(pytorch, (row) => `${row.attention} ${row.dtype}`).map(({ key, perRound }) => ({
  variant: key,
  perRound,
  median: medianOfMeasured(perRound),
}));
const ptqRows = byKey(
  ptq,
  (row) => `${row.engine ?? 'onnxruntime'} ${row.mode}/${row.dtype}/${row.choice}`,
).map(({ key, perRound }) => {
  const ratios = perRound.map((tokensPerSecond, round) => tokensPerSecond / pytorchBest[round]!);
  const compiledRatios = perRound.map((tokensPerSecond, round) => tokensPerSecond / compiledBest[round]!);
  return {
    compiledRatios,
    medianCompiledRatio: medianOfMeasured(compiledRatios),
    configuration: key,
    perRound,
    median: medianOfMeasured(perRound),
    ratioOfMedians: medianOfMeasured(perRound) / pytorchBestMedian,
    perRoundRatios: ratios,
    medianRatio: medianOfMeasured(ratios),
    roundsAtFive: ratios.filter((ratio) => ratio >= 5).length,
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
    ['best eager of each round', pytorchBest.map((value) => value.toFixed(1)).join(', '), pytorchBestMedian],
  ],
);
printTable(
  `ptq decode tok/s ${title}; ratios: to PyTorch's best eager generate, and to the static-cache torch.compile variant, in the same round`,
  [
    'engine mode/dtype/tokens chosen',
    'per round',
    'median',
    'median ÷ PyTorch median',
    'ratio per round',
    'median ratio',
    'rounds ≥ 5×',
    'ratio to compiled per round',
    'median ratio to compiled',
  ],
  ptqRows.map((row) => [
    row.configuration,
    row.perRound.map((value) => value.toFixed(0)).join(', '),
    row.median,
    row.ratioOfMedians,
    row.perRoundRatios.map((value) => value.toFixed(2)).join(', '),
    row.medianRatio,
    `${row.roundsAtFive} of ${rounds.length}`,
    row.compiledRatios.map((value) => value.toFixed(2)).join(', '),
    row.medianCompiledRatio,
  ]),
);
writeJson(out, {
  machine: host,
  gpu,
  rounds: rounds.length,
  pytorch: pytorchRows,
  pytorchBest,
  compiledBest,
  ptq: ptqRows,
});
