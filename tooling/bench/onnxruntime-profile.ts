// Reads an onnxruntime profile (session option `enableProfiling`) into per-operator totals: how many
// kernels each op type runs per session run, on which execution provider, and their median time.
// On WebGPU the times are the host's time to record and dispatch each kernel (the GPU runs them
// asynchronously), which is what a dispatch-bound decode step spends.
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { median } from './report';

interface ProfileEvent {
  cat?: string;
  name?: string;
  dur?: number;
  args?: { op_name?: string; provider?: string };
}

export interface OperatorCost {
  op: string;
  provider: string;
  /** Nodes of this op type and provider in the graph. */
  nodes: number;
  /** Sum over those nodes of each node's median time per run, in microseconds. */
  microsecondsPerRun: number;
}

export interface ProfileSummary {
  /** Median wall time of `model_run`, in milliseconds. */
  runMs: number;
  runs: number;
  operators: OperatorCost[];
  /**
   * Events of other categories (on WebGPU, the GPU's own kernel times from timestamp queries), as
   * `category: name` → total microseconds over all runs divided by the number of runs.
   */
  otherEvents: Array<{ event: string; count: number; microsecondsPerRun: number }>;
  /** All events of other categories (not only the kept ones): how many per run, and their total time per run. */
  otherEventTotals: { countPerRun: number; microsecondsPerRun: number };
}

/** `otherEventLimit`: how many of the other events to keep, largest first. */
export function summarizeProfile(file: string, skipRuns = 1, otherEventLimit = 25): ProfileSummary {
  const events = JSON.parse(readFileSync(file, 'utf8')) as ProfileEvent[];
  const runTimes = events
    .filter((event) => event.cat === 'Session' && event.name === 'model_run')
    .map((event) => (event.dur ?? 0) / 1000);
  const perNode = new Map<string, { op: string; provider: string; times: number[] }>();
  for (const event of events) {
    if (event.cat !== 'Node' || !event.name?.endsWith('_kernel_time')) continue;
    const op = event.args?.op_name ?? '?';
    const provider = (event.args?.provider ?? '?').replace('ExecutionProvider', '');
    const entry = perNode.get(event.name) ?? { op, provider, times: [] };
    entry.times.push(event.dur ?? 0);
    perNode.set(event.name, entry);
  }
  const byOperator = new Map<string, OperatorCost>();
  for (const { op, provider, times } of perNode.values()) {
    const key = `${op}@${provider}`;
    const cost = byOperator.get(key) ?? { op, provider, nodes: 0, microsecondsPerRun: 0 };
    cost.nodes += 1;
    cost.microsecondsPerRun += median(times.slice(Math.min(skipRuns, times.length - 1)));
    byOperator.set(key, cost);
  }
  const others = new Map<string, { count: number; total: number }>();
  for (const event of events) {
    if (event.cat === 'Node' || event.cat === 'Session') continue;
    const key = `${event.cat ?? '?'}: ${(event.name ?? '?').replace(/_\d+$/, '')}`;
    const entry = others.get(key) ?? { count: 0, total: 0 };
    entry.count += 1;
    entry.total += event.dur ?? 0;
    others.set(key, entry);
  }
  const runs = Math.max(1, runTimes.length);
  const all = [...others.values()];
  return {
    otherEventTotals: {
      countPerRun: all.reduce((sum, entry) => sum + entry.count, 0) / runs,
      microsecondsPerRun: all.reduce((sum, entry) => sum + entry.total, 0) / runs,
    },
    otherEvents: [...others.entries()]
      .map(([event, { count, total }]) => ({ event, count, microsecondsPerRun: total / runs }))
      .sort((a, b) => b.microsecondsPerRun - a.microsecondsPerRun)
      .slice(0, otherEventLimit),
    runMs: median(runTimes.slice(Math.min(skipRuns, runTimes.length - 1))),
    runs: runTimes.length,
    operators: [...byOperator.values()].sort((a, b) => b.microsecondsPerRun - a.microsecondsPerRun),
  };
}

/** A `profileFilePrefix` in the temporary folder, unique to this process and `name`. */
export function profilePrefix(name: string): string {
  return join(tmpdir(), `ptq-profile-${process.pid}-${name}`);
}

/**
 * Summarizes the profile a released session wrote under `prefix` (onnxruntime appends a date) and
 * deletes the file; undefined when there is none.
 */
export function takeProfile(prefix: string, skipRuns = 1, otherEventLimit = 25): ProfileSummary | undefined {
  const directory = tmpdir();
  const file = readdirSync(directory).find((name) => join(directory, name).startsWith(prefix));
  if (file === undefined) return undefined;
  try {
    return summarizeProfile(join(directory, file), skipRuns, otherEventLimit);
  } finally {
    rmSync(join(directory, file));
  }
}
