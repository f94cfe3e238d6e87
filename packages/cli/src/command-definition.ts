import type { GlobalOptionTable } from './options/common-options';
import type { OptionTable, OptionValues } from './options/option-spec';
import type { CliIo } from './output/output-stream';
import type { Progress } from './output/progress';

/** A positional argument (`ptq inspect <dir>`). */
export interface ArgumentSpec {
  readonly name: string;
  readonly description: string;
}

/** A command line shown under "Examples:" in a command's help. */
export interface Example {
  readonly command: string;
  readonly description: string;
}

/** What a running command may use besides its values. */
export interface CommandContext extends CliIo {
  readonly json: boolean;
  readonly quiet: boolean;
  readonly verbose: boolean;
  readonly progress: Progress;
  /** A status line on stderr (notices, phase timings); nothing with `--quiet`. */
  status(line: string): void;
  /** A line of the command's result on stdout; nothing with `--json`. */
  print(line: string): void;
}

export interface CommandInput<Table extends OptionTable> {
  readonly options: OptionValues<Table>;
  /** Positional arguments, in the order of `arguments`. */
  readonly arguments: readonly string[];
  /** The flags on the command line, by long name (`--calib-size`): defaults are not among them. */
  readonly givenFlags: ReadonlySet<string>;
}

/**
 * One `ptq` command: its typed option table (every command spreads `GLOBAL_OPTIONS` into it), help
 * examples, and what it does. `run` returns the JSON object `--json` prints.
 */
export interface CommandDefinition<
  Table extends OptionTable & GlobalOptionTable = OptionTable & GlobalOptionTable,
> {
  readonly name: string;
  readonly summary: string;
  readonly arguments: readonly ArgumentSpec[];
  readonly options: Table;
  readonly examples: readonly Example[];
  run(input: CommandInput<Table>, context: CommandContext): Promise<Record<string, unknown>>;
}

/** Checks a command's types against its own table, then lets it sit in a list with the others. */
export function defineCommand<Table extends OptionTable & GlobalOptionTable>(
  definition: CommandDefinition<Table>,
): CommandDefinition {
  return definition as unknown as CommandDefinition;
}
