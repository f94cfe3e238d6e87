import { UsageError } from '../cli-errors';
import type { CommandDefinition } from '../command-definition';
import { longFlagOf } from './option-spec';

/**
 * Commander takes the flag after a flag that needs a value as that value (`--model --out y` reads
 * `--out` as the model, then calls `y` an extra argument). Refuses it first, naming the flag whose
 * value is missing.
 */
export function checkMissingValues(argv: readonly string[], commands: readonly CommandDefinition[]): void {
  const definition = commands.find((command) => command.name === argv[0]);
  if (definition === undefined) return;
  const specs = Object.values(definition.options);
  const takesValue = new Set(specs.filter((spec) => spec.boolean !== true).map(longFlagOf));
  const flags = new Set([...specs.map(longFlagOf), '--help']);
  for (let index = 1; index < argv.length - 1; index++) {
    const token = argv[index]!;
    if (token === '--') return;
    const next = argv[index + 1]!;
    if (takesValue.has(token) && (flags.has(next) || /^-[a-zA-Z]$/.test(next))) {
      throw new UsageError(`${token} needs a value, but the next argument is the flag ${next}`);
    }
    if (takesValue.has(token)) index++;
  }
}
