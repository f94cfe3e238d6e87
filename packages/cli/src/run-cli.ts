import { Command, CommanderError, Option } from 'commander';
import packageJson from '../package.json' with { type: 'json' };
import { UsageError } from './cli-errors';
import type { CommandContext, CommandDefinition } from './command-definition';
import { COMMANDS } from './commands/command-table';
import { checkMissingValues } from './options/missing-value';
import { helpDescription, longFlagOf, parseOptionValues } from './options/option-spec';
import { EXIT_SUCCESS, EXIT_USAGE, formatError } from './output/format-error';
import type { CliIo } from './output/output-stream';
import { createProgress, type Progress, progressStyleFor } from './output/progress';

const PROGRAM_NAME = 'ptq';

/**
 * Runs `ptq` with `argv` (the arguments after the program name) and resolves to the exit code, never
 * throwing and never calling `process.exit`: 0 on success, 2 for a wrong command line, 1 when the
 * work failed. Output goes to `io` (default: the process's streams), so tests run it in-process.
 */
export async function runCli(
  argv: readonly string[],
  io: CliIo = { stdout: process.stdout, stderr: process.stderr },
): Promise<number> {
  // Read before parsing, so that an error in parsing itself is shown in full when asked.
  const verbose = argv.includes('--verbose');
  let exitCode = EXIT_SUCCESS;
  const program = buildProgram(io, (code) => {
    exitCode = code;
  });
  try {
    checkMissingValues(argv, COMMANDS);
    await program.parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) return commanderExit(error, io, verbose);
    const formatted = formatError(error, verbose);
    io.stderr.write(formatted.text);
    return formatted.exitCode;
  }
}

function commanderExit(error: CommanderError, io: CliIo, verbose: boolean): number {
  if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return EXIT_SUCCESS;
  // `ptq` alone: commander has already printed the help on stderr.
  if (error.code === 'commander.help' || error.code === 'commander.executeSubCommandAsync') return EXIT_USAGE;
  const message = error.message
    .replace(/^error: /, '')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .join(' ');
  const formatted = formatError(new UsageError(message, { cause: error }), verbose);
  io.stderr.write(formatted.text);
  return EXIT_USAGE;
}

function buildProgram(io: CliIo, setExitCode: (code: number) => void): Command {
  const program = new Command(PROGRAM_NAME)
    .description('Quantize Hugging Face GPT-2 models the way NVIDIA ModelOpt does, and run them.')
    .version(packageJson.version, '-V, --version', 'print the version')
    .helpOption('-h, --help', 'print this help')
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
      // Errors are printed by runCli in ptq's one-line form.
      outputError: () => {},
    })
    .exitOverride()
    .showSuggestionAfterError(true)
    .addHelpText('after', `\nRun "${PROGRAM_NAME} <command> --help" for a command's flags and examples.\n`);
  for (const definition of COMMANDS) addCommand(program, definition, io, setExitCode);
  return program;
}

function addCommand(
  program: Command,
  definition: CommandDefinition,
  io: CliIo,
  setExitCode: (code: number) => void,
): void {
  const command = program
    .command(definition.name)
    .summary(definition.summary)
    .description(definition.summary)
    .helpOption('-h, --help', 'print this help')
    .allowExcessArguments(false);
  for (const argument of definition.arguments) command.argument(`<${argument.name}>`, argument.description);
  // Commander only collects the text after each flag; ptq parses and range-checks it itself.
  const attributeOf = new Map<string, string>();
  for (const [key, spec] of Object.entries(definition.options)) {
    const option = new Option(spec.flags, helpDescription(spec));
    attributeOf.set(key, option.attributeName());
    command.addOption(option);
  }
  command.addHelpText('after', examplesText(definition));
  command.action(async (...actionArguments: unknown[]) => {
    const collected = command.opts<Record<string, unknown>>();
    const raw: Record<string, unknown> = {};
    for (const [key, attribute] of attributeOf) raw[key] = collected[attribute];
    const options = parseOptionValues(definition.options, raw);
    const givenFlags = new Set(
      Object.entries(definition.options)
        .filter(([key]) => raw[key] !== undefined)
        .map(([, spec]) => longFlagOf(spec)),
    );
    const positional = actionArguments.slice(0, definition.arguments.length).map(String);
    if (options.quiet) {
      const { onnxruntimeErrorsOnly } = await import('./output/native-logging');
      await onnxruntimeErrorsOnly();
    }
    const progress = await createProgress(io.stderr, progressStyleFor(io.stderr, options.quiet));
    const context = createContext(io, options, progress);
    try {
      const result = await definition.run({ options, arguments: positional, givenFlags }, context);
      if (options.json) io.stdout.write(`${JSON.stringify(result)}\n`);
      setExitCode(EXIT_SUCCESS);
    } finally {
      progress.stop();
    }
  });
}

function createContext(
  io: CliIo,
  options: { json: boolean; quiet: boolean; verbose: boolean },
  progress: Progress,
): CommandContext {
  return {
    stdout: io.stdout,
    stderr: io.stderr,
    json: options.json,
    quiet: options.quiet,
    verbose: options.verbose,
    progress,
    status(line) {
      if (!options.quiet) progress.log(line);
    },
    print(line) {
      if (!options.json) io.stdout.write(`${line}\n`);
    },
  };
}

function examplesText(definition: CommandDefinition): string {
  const lines = definition.examples.flatMap((example) => [
    `  # ${example.description}`,
    `  $ ${example.command}`,
  ]);
  return `\nExamples:\n${lines.join('\n')}\n`;
}
