// Peak memory and CPU time of modelOptQuantize per mode, block-by-block calibration against the
// whole-model execution in the same run, on a random fp32 GPT-2 checkpoint of a given shape made on
// the fly. Each quantization runs in its own child process, which reports its peak RSS
// (VmHWM, see ownPeakRssBytes: loading included), CPU time and wall time.
// Run: pnpm --filter @ptq/quant-core bench:memory -- --shape gpt2-124m [--modes int8-weight-only,float8]
//      [--executions whole-model,block-by-block] [--samples 2] [--length 32] [--out file.json]
// With --whole-command [--check fast] [--weights in-memory,on-demand], each mode runs the `ptq quantize` command a user runs instead (load,
// calibration and the modelopt-hf export, `--check none` unless --check says otherwise), the bundle
// built from this checkout or the one --cli names; its peak RSS comes from the command's own VmHWM
// at exit, and the peak of each phase from /proc sampling (Linux).
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { loadHfGpt2 } from '@ptq/hf-gpt2';
import {
  GPT2_124M,
  GPT2_LARGE,
  GPT2_XL,
  type RandomGpt2Shape,
  writeRandomGpt2,
} from '../../../tooling/bench/random-gpt2';
import { flag, printTable, writeJson } from '../../../tooling/bench/report';
import { type CalibrationExecution, modelOptQuantize, QUANT_MODES, type QuantMode } from '../src/index';

interface ChildReport {
  readonly mode: QuantMode;
  readonly execution: CalibrationExecution;
  /** Peak resident set of the child, bytes. */
  readonly maxRssBytes: number;
  /** Resident set right after loading the model, bytes. */
  readonly rssAfterLoadBytes: number;
  readonly loadSeconds: number;
  readonly quantizeSeconds: number;
  /** User + system CPU seconds of the quantization alone. */
  readonly quantizeCpuSeconds: number;
  /**
   * Highest RSS sampled (every 10 ms, when the event loop is free) during each part of the
   * quantization: recording batches, running blocks, AWQ searches, and the rest (weight ranges).
   */
  readonly sampledPeakRssBytes: Record<string, number>;
}

const SHAPES: Record<string, RandomGpt2Shape> = {
  'gpt2-124m': GPT2_124M,
  'gpt2-large': GPT2_LARGE,
  'gpt2-xl': GPT2_XL,
};

if (process.argv.includes('--child')) {
  await child();
} else if (process.argv.includes('--whole-command')) {
  await wholeCommand();
} else {
  await parent();
}

async function child(): Promise<void> {
  const mode = flag('mode', 'int8-weight-only') as QuantMode;
  const execution = flag('execution', 'block-by-block') as CalibrationExecution;
  const loadStarted = performance.now();
  const model = await loadHfGpt2(flag('folder', ''), { device: 'cpu', onNotice: () => {} });
  const loadSeconds = (performance.now() - loadStarted) / 1000;
  const rssAfterLoadBytes = process.memoryUsage().rss;
  const sampledPeakRssBytes: Record<string, number> = {};
  let part = 'before calibration';
  const sample = () => {
    sampledPeakRssBytes[part] = Math.max(sampledPeakRssBytes[part] ?? 0, process.memoryUsage.rss());
  };
  const sampler = setInterval(sample, 10);
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  await modelOptQuantize(model, mode, {
    device: 'cpu',
    calibration: execution,
    numSamples: Number(flag('samples', '2')),
    maxSampleLength: Number(flag('length', '32')),
    onProgress: (event) => {
      sample();
      if (event.phase === 'calibrate-block') {
        part = event.batch === event.batches && mode === 'int4-weight-only' ? 'AWQ search' : 'block runs';
      } else if (event.phase === 'awq-search' && execution === 'block-by-block') {
        part = (event.index ?? 0) % 4 === 0 ? 'block runs' : 'AWQ search';
      } else {
        part = event.phase;
      }
    },
    log: (line) => {
      sample();
      if (line.includes('AWQ-lite alphas')) part = 'after calibration';
    },
    onNotice: () => {},
  });
  sample();
  clearInterval(sampler);
  const quantizeSeconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  const report: ChildReport = {
    mode,
    execution,
    maxRssBytes: ownPeakRssBytes(),
    rssAfterLoadBytes,
    loadSeconds,
    quantizeSeconds,
    quantizeCpuSeconds: (cpu.user + cpu.system) / 1e6,
    sampledPeakRssBytes,
  };
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

function runChild(args: string[]): Promise<ChildReport> {
  return new Promise((resolve, reject) => {
    const task = spawn(process.execPath, [process.argv[1]!, '--child', ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    task.stdout.on('data', (chunk) => {
      output += chunk;
    });
    task.on('error', reject);
    task.on('close', (code, signal) => {
      const line = output.trim().split('\n').at(-1) ?? '';
      if (code === 0 && line.startsWith('{')) resolve(JSON.parse(line) as ChildReport);
      else reject(new Error(`child ${args.join(' ')} ended with ${signal ?? `code ${code}`}`));
    });
  });
}

function cpuModel(): string {
  return cpus()[0]?.model ?? 'unknown';
}

/** The machine a memory run is on, with its load average now (the end's is filled in later). */
function benchMachine() {
  return {
    cpu: cpuModel(),
    cores: cpus().length,
    totalMemoryBytes: totalmem(),
    node: process.version,
    loadAverageAtStart: loadavg(),
    loadAverageAtEnd: [] as number[],
  };
}

async function parent(): Promise<void> {
  const shapeName = flag('shape', 'gpt2-124m');
  const shape = SHAPES[shapeName];
  if (shape === undefined) throw new Error(`--shape must be one of ${Object.keys(SHAPES).join(', ')}`);
  const modes = flag('modes', QUANT_MODES.join(',')).split(',') as QuantMode[];
  const executions = flag('executions', 'whole-model,block-by-block').split(',') as CalibrationExecution[];
  const samples = flag('samples', '2');
  const length = flag('length', '32');
  const out = flag('out', `bench-results/quantize-memory-${shapeName}.json`);
  const folder = mkdtempSync(join(tmpdir(), `ptq-bench-memory-${shapeName}-`));
  try {
    await writeRandomGpt2(folder, shape, 1, 'float32');
    const checkpointBytes = statSync(join(folder, 'model.safetensors')).size;
    const machine = benchMachine();
    const reports: ChildReport[] = [];
    for (const mode of modes) {
      for (const execution of executions) {
        const report = await runChild([
          '--folder',
          folder,
          '--mode',
          mode,
          '--execution',
          execution,
          '--samples',
          samples,
          '--length',
          length,
        ]);
        reports.push(report);
        console.error(
          `${mode} ${execution}: peak ${(report.maxRssBytes / 1e9).toFixed(2)} GB, ${report.quantizeCpuSeconds.toFixed(1)} s CPU; sampled peaks: ${sampledPeaks(report)}`,
        );
      }
    }
    machine.loadAverageAtEnd = loadavg();
    const run: MemoryRun = { shapeName, shape, checkpointBytes, samples, length, machine };
    printTable(
      `modelOptQuantize peak RSS, ${describeRun(run)}`,
      [
        'mode',
        'calibration',
        'peak RSS GB',
        '× checkpoint',
        'RSS after load GB',
        'quantize s',
        'quantize CPU s',
      ],
      reports.map((report) => [
        report.mode,
        report.execution,
        gigabytes(report.maxRssBytes),
        report.maxRssBytes / checkpointBytes,
        gigabytes(report.rssAfterLoadBytes),
        report.quantizeSeconds,
        report.quantizeCpuSeconds,
      ]),
    );
    writeRunJson(out, 'modelOptQuantize peak RSS', run, {}, reports);
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

/** A function declaration: the bench's top-level await runs before module constants below it exist. */
function gigabytes(bytes: number): number {
  return bytes / 1e9;
}

/** What a memory run measured: the checkpoint, the calibration data and the machine. */
interface MemoryRun {
  readonly shapeName: string;
  readonly shape: RandomGpt2Shape;
  readonly checkpointBytes: number;
  readonly samples: string;
  readonly length: string;
  readonly machine: ReturnType<typeof benchMachine>;
}

/** The run in words, for a table's title. */
function describeRun({ shapeName, shape, checkpointBytes, samples, length, machine }: MemoryRun): string {
  return `random fp32 ${shapeName} (${shape.layers}×${shape.width}, ${gigabytes(checkpointBytes).toFixed(2)} GB checkpoint), ${samples} samples × ${length} tokens, CPU (${machine.cpu}, ${machine.cores} cores, ${gigabytes(machine.totalMemoryBytes).toFixed(1)} GB; load average ${machine.loadAverageAtStart.map((value) => value.toFixed(1)).join(' ')} at start)`;
}

/** A report's sampled peak RSS per phase, for the progress line. */
function sampledPeaks(report: { readonly sampledPeakRssBytes: Record<string, number> }): string {
  return Object.entries(report.sampledPeakRssBytes)
    .map(([part, bytes]) => `${part} ${(bytes / 1e9).toFixed(2)} GB`)
    .join(', ');
}

/** The JSON file of a run: its setting, `details`, the machine and each report with its peak ÷ checkpoint. */
function writeRunJson(
  out: string,
  benchmark: string,
  run: MemoryRun,
  details: Record<string, unknown>,
  reports: readonly { readonly maxRssBytes: number }[],
): void {
  writeJson(out, {
    benchmark,
    shape: { name: run.shapeName, ...run.shape },
    checkpointBytes: run.checkpointBytes,
    samples: Number(run.samples),
    maxSampleLength: Number(run.length),
    ...details,
    machine: run.machine,
    gitCommit: gitCommit(),
    results: reports.map((report) => ({
      ...report,
      peakOverCheckpoint: report.maxRssBytes / run.checkpointBytes,
    })),
  });
}

function gitCommit(): string | undefined {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
  } catch {
    return undefined;
  }
}

interface CommandReport {
  readonly mode: QuantMode;
  /** The `--weights` the command was given, or undefined for its default. */
  weights?: string;
  /** Peak resident set of the command, bytes (its own VmHWM at exit, see ownPeakRssBytes). */
  readonly maxRssBytes: number;
  readonly wallSeconds: number;
  readonly userCpuSeconds: number;
  readonly systemCpuSeconds: number;
  /** Highest RSS sampled (/proc, every 200 ms) while each phase the command reports ran. */
  readonly sampledPeakRssBytes: Record<string, number>;
  /** The command's `ptq: …` status lines. */
  readonly status: string[];
}

/** A report's row label: the mode, and the `--weights` it was given. */
function labelOf(report: CommandReport): string {
  return report.weights === undefined ? report.mode : `${report.mode}, --weights ${report.weights}`;
}

/** Runs one `ptq quantize` and reports its peak RSS, CPU and wall time. */
/**
 * This process's peak resident set since it started its program: Linux's VmHWM, which belongs to
 * the address space exec made. `process.resourceUsage().maxRSS` is not that: Linux carries it over
 * from the forked parent, so a child spawned while the bench held a checkpoint it had just written
 * (3.1 GB for GPT-2-large) reported at least that much whatever it used. Elsewhere, maxRSS.
 * The command's preload reads it the same way.
 */
function ownPeakRssBytes(): number {
  try {
    const kilobytes = /VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
    if (kilobytes !== undefined) return Number(kilobytes) * 1024;
  } catch {
    // Not Linux.
  }
  return process.resourceUsage().maxRSS * 1024;
}

function runCommand(
  cli: string,
  args: readonly string[],
  mode: QuantMode,
  usageFile: string,
): Promise<CommandReport> {
  // Loaded before the command: writes its resource usage when it exits.
  const preload = `data:text/javascript,${encodeURIComponent(
    `import { readFileSync, writeFileSync } from 'node:fs';
    const peak = () => {
      try {
        const kilobytes = /VmHWM:\\s+(\\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
        if (kilobytes !== undefined) return Number(kilobytes) * 1024;
      } catch {}
      return process.resourceUsage().maxRSS * 1024;
    };
    process.on('exit', () => writeFileSync(${JSON.stringify(usageFile)}, JSON.stringify({ ...process.resourceUsage(), peakRssBytes: peak() })));`,
  )}`;
  return new Promise((resolvePromise, reject) => {
    const started = performance.now();
    const task = spawn(process.execPath, ['--import', preload, cli, ...args], {
      stdio: ['ignore', 'ignore', 'pipe'],
      // Every run measures both checks: a cached unquantized perplexity would skip one.
      env: { ...process.env, PTQ_CACHE_DIR: 'off' },
    });
    const sampledPeakRssBytes: Record<string, number> = {};
    const status: string[] = [];
    let phase = 'load';
    let interrupted = phase;
    let stderr = '';
    const sample = () => {
      try {
        const kilobytes = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${task.pid}/status`, 'utf8'))?.[1];
        if (kilobytes !== undefined) {
          sampledPeakRssBytes[phase] = Math.max(sampledPeakRssBytes[phase] ?? 0, Number(kilobytes) * 1024);
        }
      } catch {
        // Not Linux, or the command has just exited.
      }
    };
    const sampler = setInterval(sample, 200);
    task.stderr.on('data', (chunk) => {
      stderr += chunk;
      const lines = stderr.split('\n');
      stderr = lines.pop() ?? '';
      for (const line of lines) {
        // A check's progress (`check unquantized 3/36`): its own phase until its last step, then the
        // phase it interrupted, wherever the command runs it (a quantized check comes after the
        // export now, before it in earlier builds).
        const check = /^check (\S+) (\d+)\/(\d+)$/.exec(line);
        if (check !== null) {
          sample();
          if (phase !== 'check') interrupted = phase;
          phase = check[2] === check[3] ? interrupted : 'check';
          continue;
        }
        if (!line.startsWith('ptq: ')) continue;
        status.push(line);
        sample();
        // Each phase's line is printed when it ends; the next one starts.
        if (line.startsWith('ptq: load ')) phase = 'calibrate';
        else if (line.startsWith('ptq: calibrate ')) phase = 'export';
        else if (line.startsWith('ptq: export ')) phase = 'after export';
      }
    });
    task.on('error', reject);
    task.on('close', (code, signal) => {
      clearInterval(sampler);
      const wallSeconds = (performance.now() - started) / 1000;
      if (code !== 0 || !existsSync(usageFile)) {
        reject(
          new Error(
            `ptq ${args.join(' ')} ended with ${signal ?? `code ${code}`}: ${status.at(-1) ?? stderr}`,
          ),
        );
        return;
      }
      const usage = JSON.parse(readFileSync(usageFile, 'utf8')) as NodeJS.ResourceUsage & {
        peakRssBytes: number;
      };
      resolvePromise({
        mode,
        maxRssBytes: usage.peakRssBytes,
        wallSeconds,
        userCpuSeconds: usage.userCPUTime / 1e6,
        systemCpuSeconds: usage.systemCPUTime / 1e6,
        sampledPeakRssBytes,
        status,
      });
    });
  });
}

async function wholeCommand(): Promise<void> {
  const shapeName = flag('shape', 'gpt2-124m');
  const shape = SHAPES[shapeName];
  if (shape === undefined) throw new Error(`--shape must be one of ${Object.keys(SHAPES).join(', ')}`);
  const modes = flag('modes', QUANT_MODES.join(',')).split(',') as QuantMode[];
  const samples = flag('samples', '2');
  const length = flag('length', '32');
  const check = flag('check', 'none');
  // `--weights in-memory,on-demand` runs each mode with each, alternated; none: the command's default.
  const residences = flag('weights', '').split(',');
  const out = flag('out', `bench-results/quantize-command-memory-${shapeName}.json`);
  // The bench runs from `.bench/` at the repository root.
  const root = resolve(dirname(process.argv[1]!), '..');
  let cli = flag('cli', '');
  if (cli === '') {
    // `pnpm ptq`'s launcher rebuilds the bundle when a source is newer.
    execFileSync(process.execPath, [join(root, 'tooling', 'ptq-command', 'run-ptq.mjs'), '--version'], {
      stdio: 'ignore',
    });
    cli = join(root, 'packages', 'cli', 'dist', 'cli.js');
  }
  const folder = mkdtempSync(join(tmpdir(), `ptq-bench-command-${shapeName}-`));
  try {
    const modelFolder = join(folder, 'model');
    await writeRandomGpt2(modelFolder, shape, 1, 'float32');
    const checkpointBytes = statSync(join(modelFolder, 'model.safetensors')).size;
    const machine = benchMachine();
    const reports: CommandReport[] = [];
    for (const mode of modes) {
      for (const weights of residences) {
        const args = [
          'quantize',
          ...(weights === '' ? [] : ['--weights', weights]),
          '--model',
          modelFolder,
          '--mode',
          mode,
          '--calib-size',
          samples,
          '--max-sample-length',
          length,
          '--check',
          check,
          '--out',
          join(folder, `out-${mode}`),
        ];
        const report = await runCommand(cli, args, mode, join(folder, `usage-${mode}.json`));
        rmSync(join(folder, `out-${mode}`), { recursive: true, force: true });
        if (weights !== '') report.weights = weights;
        reports.push(report);
        console.error(
          `${labelOf(report)}: peak ${(report.maxRssBytes / 1e9).toFixed(2)} GB; sampled peaks: ${sampledPeaks(report)}`,
        );
      }
    }
    machine.loadAverageAtEnd = loadavg();
    const run: MemoryRun = { shapeName, shape, checkpointBytes, samples, length, machine };
    const phasePeak = (report: CommandReport, phase: string) =>
      report.sampledPeakRssBytes[phase] === undefined ? '—' : gigabytes(report.sampledPeakRssBytes[phase]);
    printTable(
      `ptq quantize (--check ${check}) peak RSS, ${describeRun(run)}`,
      [
        'mode',
        'peak RSS GB',
        '× checkpoint',
        'load GB',
        'checks GB',
        'calibrate GB',
        'export GB',
        'wall s',
        'CPU s (user + system)',
      ],
      reports.map((report) => [
        labelOf(report),
        gigabytes(report.maxRssBytes),
        report.maxRssBytes / checkpointBytes,
        phasePeak(report, 'load'),
        phasePeak(report, 'check'),
        phasePeak(report, 'calibrate'),
        phasePeak(report, 'export'),
        report.wallSeconds,
        report.userCpuSeconds + report.systemCpuSeconds,
      ]),
    );
    // The command as the checkout names it: a path relative to the repository, not the machine's.
    writeRunJson(out, 'ptq quantize peak RSS', run, { check, cli: relative(root, cli) }, reports);
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}
