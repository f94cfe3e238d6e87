import { UsageError } from '../cli-errors';

// Plain decimal digits only: "1e3", "0x10", "+5", "12abc" and "" are not counts a user means.
const DIGITS = /^\d+$/;
// A plain decimal number, optionally with an exponent; no sign (callers that accept ≥ 0 need none).
const DECIMAL = /^(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

function quoted(raw: string): string {
  return JSON.stringify(raw);
}

/** A whole number ≥ 1 within the safe integer range (sample counts, batch sizes, token counts). */
export function parsePositiveInteger(raw: string, flag: string): number {
  const value = DIGITS.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new UsageError(`${flag} must be a positive integer, got ${quoted(raw)}`);
  }
  return value;
}

/** A whole number ≥ 0 within the safe integer range (seeds). */
export function parseNonNegativeInteger(raw: string, flag: string): number {
  const value = DIGITS.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(value)) {
    throw new UsageError(`${flag} must be a non-negative integer, got ${quoted(raw)}`);
  }
  return value;
}

/** A finite number ≥ 0 (temperature). */
export function parseNonNegativeNumber(raw: string, flag: string): number {
  const value = DECIMAL.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isFinite(value)) {
    throw new UsageError(`${flag} must be a number >= 0, got ${quoted(raw)}`);
  }
  return value;
}

/** One of a fixed list of names (modes, devices, formats). */
export function choiceParser<Choice extends string>(
  choices: readonly Choice[],
): (raw: string, flag: string) => Choice {
  return (raw, flag) => {
    if (!(choices as readonly string[]).includes(raw)) {
      throw new UsageError(`${flag} must be one of ${choices.join(', ')}, got ${quoted(raw)}`);
    }
    return raw as Choice;
  };
}

/** Any non-empty text (paths, hub ids, prompts). */
export function parseText(raw: string, flag: string): string {
  if (raw === '') throw new UsageError(`${flag} must not be empty`);
  return raw;
}
