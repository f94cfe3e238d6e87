import type { CommandDefinition } from '../command-definition';
import { evalCommand } from './eval';
import { generateCommand } from './generate';
import { inspectCommand } from './inspect';
import { quantizeCommand } from './quantize';

/** Every `ptq` command, in the order help lists them. */
export const COMMANDS: readonly CommandDefinition[] = [
  quantizeCommand,
  generateCommand,
  evalCommand,
  inspectCommand,
];
