import type { OutputStream } from './output-stream';

/** One long piece of work with a known amount to do (batches, linears, windows, tokens). */
export interface ProgressTask {
  /** How much is done; a `total` grows the task when the work turned out larger. */
  update(done: number, total?: number): void;
  /** The task is over (done or abandoned); the next task starts on a fresh line. */
  finish(): void;
}

/** How a run shows long work. */
export interface Progress {
  readonly style: ProgressStyle;
  task(label: string, total: number): ProgressTask;
  /** A status line printed so that it does not break a bar being drawn. */
  log(line: string): void;
  /** Finishes every task and gives the terminal back (restores the cursor). */
  stop(): void;
}

/** `bars` in a terminal, `lines` (`calibrate 12/64`) when stderr is a file or pipe, `silent` with `--quiet`. */
export type ProgressStyle = 'bars' | 'lines' | 'silent';

export function progressStyleFor(stderr: OutputStream, quiet: boolean): ProgressStyle {
  if (quiet) return 'silent';
  return stderr.isTTY === true ? 'bars' : 'lines';
}

/**
 * A progress display on stderr. Bars come from `cli-progress`, loaded only when a terminal asks for
 * them; without it (an install that left the optional package out) the plain lines are used.
 */
export async function createProgress(stderr: OutputStream, style: ProgressStyle): Promise<Progress> {
  if (style === 'silent') return silentProgress();
  if (style === 'bars') {
    const bars = await barProgress(stderr);
    if (bars !== undefined) return bars;
  }
  return lineProgress(stderr);
}

function silentProgress(): Progress {
  const task: ProgressTask = { update() {}, finish() {} };
  return { style: 'silent', task: () => task, log() {}, stop() {} };
}

// Plain lines are printed at every tenth of the work (and at its end), so a log stays short.
const LINE_STEPS = 10;

/** `label done/total` lines, for logs and pipes. */
export function lineProgress(stderr: OutputStream): Progress {
  return {
    style: 'lines',
    task(label, total) {
      let currentTotal = total;
      let lastStep = -1;
      let lastDone = -1;
      let printedDone = -1;
      const print = (done: number) => {
        stderr.write(`${label} ${done}/${currentTotal}\n`);
        printedDone = done;
      };
      return {
        update(done, newTotal) {
          if (newTotal !== undefined && newTotal > currentTotal) currentTotal = newTotal;
          if (done > currentTotal) currentTotal = done;
          lastDone = done;
          const step = currentTotal === 0 ? LINE_STEPS : Math.floor((done / currentTotal) * LINE_STEPS);
          if (step > lastStep || done === currentTotal) {
            lastStep = step;
            if (done !== printedDone) print(done);
          }
        },
        finish() {
          if (lastDone >= 0 && lastDone !== printedDone) print(lastDone);
        },
      };
    },
    log(line) {
      stderr.write(`${line}\n`);
    },
    stop() {},
  };
}

async function barProgress(stderr: OutputStream): Promise<Progress | undefined> {
  let cliProgress: typeof import('cli-progress');
  try {
    const imported = (await import('cli-progress')) as typeof import('cli-progress') & {
      default?: typeof import('cli-progress');
    };
    cliProgress = imported.default ?? imported;
  } catch {
    return undefined;
  }
  // One bar at a time: ptq's long phases run one after another, and a finished bar stays on screen.
  let active: import('cli-progress').SingleBar | undefined;
  return {
    style: 'bars',
    task(label, total) {
      active?.stop();
      const bar = new cliProgress.SingleBar(
        {
          stream: stderr as NodeJS.WritableStream,
          format: `${label} [{bar}] {value}/{total} {duration_formatted} (ETA {eta_formatted})`,
          barsize: 30,
          hideCursor: true,
          clearOnComplete: false,
          stopOnComplete: false,
          // Redrawn even when unchanged, so a notice printed over it does not leave it blank.
          forceRedraw: true,
        },
        cliProgress.Presets.shades_classic,
      );
      bar.start(total, 0);
      active = bar;
      let currentTotal = total;
      return {
        update(done, newTotal) {
          const grown = Math.max(currentTotal, newTotal ?? 0, done);
          if (grown !== currentTotal) {
            currentTotal = grown;
            bar.setTotal(grown);
          }
          bar.update(done);
        },
        finish() {
          bar.stop();
          if (active === bar) active = undefined;
        },
      };
    },
    log(line) {
      if (active === undefined) {
        stderr.write(`${line}\n`);
        return;
      }
      // Clear the bar's line, print the notice, and draw the bar again below it.
      stderr.write(`\r\x1b[2K${line}\n`);
      active.render();
    },
    stop() {
      active?.stop();
      active = undefined;
    },
  };
}
