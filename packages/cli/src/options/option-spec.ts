import { UsageError } from '../cli-errors';
import { choiceParser } from './parse-values';

/**
 * One flag of a command: how commander declares it, how its text becomes a typed value, and whether
 * a value is always there afterwards (`Always`: it has a default, is required, or is a boolean).
 */
export interface OptionSpec<Value = unknown, Always extends boolean = boolean> {
  /** Commander flags, e.g. `--calib-size <n>`, `-q, --quiet`. */
  readonly flags: string;
  readonly description: string;
  readonly always: Always;
  readonly required: boolean;
  readonly boolean: boolean;
  readonly defaultValue: Value | undefined;
  /** What help shows as the default, when that is not the value itself ("the bundled model"). */
  readonly defaultLabel: string | undefined;
  /** The accepted values of a choice flag, for help and for the message when it is missing. */
  readonly choices: readonly string[] | undefined;
  /** Turns the text after the flag into a value; throws `UsageError` naming the flag. */
  readonly parse: (raw: string, flag: string) => Value;
}

export type OptionTable = Readonly<Record<string, OptionSpec>>;

/** The parsed values of a table: `Value` where one is always present, else `Value | undefined`. */
export type OptionValues<Table extends OptionTable> = {
  -readonly [Key in keyof Table]: Table[Key] extends OptionSpec<infer Value, infer Always>
    ? Always extends true
      ? Value
      : Value | undefined
    : never;
};

/** A flag that takes a value (`--calib-size <n>`); absent means `undefined`. */
export function valueOption<Value>(
  flags: string,
  description: string,
  parse: (raw: string, flag: string) => Value,
): OptionSpec<Value, false> {
  return {
    flags,
    description,
    always: false,
    required: false,
    boolean: false,
    defaultValue: undefined,
    defaultLabel: undefined,
    choices: undefined,
    parse,
  };
}

/** A flag whose value is one of a fixed list (`--mode <mode>`). */
export function choiceOption<Choice extends string>(
  flags: string,
  description: string,
  choices: readonly Choice[],
): OptionSpec<Choice, false> {
  return { ...valueOption(flags, description, choiceParser(choices)), choices };
}

/** A switch (`--json`): `true` when given, else `false`. */
export function booleanOption(flags: string, description: string): OptionSpec<boolean, true> {
  return {
    flags,
    description,
    always: true,
    required: false,
    boolean: true,
    defaultValue: false,
    defaultLabel: undefined,
    choices: undefined,
    parse: () => true,
  };
}

/** The same flag with a default, so its value is always present. */
export function withDefault<Value>(
  spec: OptionSpec<Value, boolean>,
  defaultValue: Value,
  defaultLabel?: string,
): OptionSpec<Value, true> {
  return { ...spec, always: true, defaultValue, defaultLabel };
}

/** The same flag, required: leaving it out is a usage error. */
export function requiredOption<Value>(spec: OptionSpec<Value, boolean>): OptionSpec<Value, true> {
  return { ...spec, always: true, required: true };
}

/** The long flag of a spec (`--calib-size`), as messages name it. */
export function longFlagOf(spec: OptionSpec): string {
  const long = spec.flags.split(/[ ,|]+/).find((part) => part.startsWith('--'));
  if (long === undefined) throw new TypeError(`option "${spec.flags}" has no long flag`);
  return long;
}

/** Help text of a flag: its description and, where there is one, its default. */
export function helpDescription(spec: OptionSpec): string {
  const choices = spec.choices === undefined ? '' : `: ${spec.choices.join(', ')}`;
  if (spec.required) return `${spec.description}${choices} (required)`;
  if (spec.boolean) return spec.description;
  const shown =
    spec.defaultLabel ?? (spec.defaultValue === undefined ? undefined : String(spec.defaultValue));
  return shown === undefined
    ? `${spec.description}${choices}`
    : `${spec.description}${choices} (default: ${shown})`;
}

/**
 * Typed values from the raw strings commander collected, keyed like the table. Every value is
 * parsed (and range-checked) here, so a bad one is reported in ptq's own words.
 */
export function parseOptionValues<Table extends OptionTable>(
  table: Table,
  raw: Readonly<Record<string, unknown>>,
): OptionValues<Table> {
  const values: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(table)) {
    const flag = longFlagOf(spec);
    const given = raw[key];
    if (given === undefined) {
      if (spec.required) {
        const choices = spec.choices === undefined ? '' : ` (one of ${spec.choices.join(', ')})`;
        throw new UsageError(`${flag} is required${choices}`);
      }
      values[key] = spec.defaultValue;
    } else if (spec.boolean) {
      values[key] = given === true;
    } else {
      values[key] = spec.parse(String(given), flag);
    }
  }
  return values as OptionValues<Table>;
}
