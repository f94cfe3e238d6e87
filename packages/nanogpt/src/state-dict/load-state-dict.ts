import { PtqError } from '@ptq/errors';
import { firstInt4CodeOutside } from '@ptq/scale-math';
import { createTensor, type Tensor } from '@ptq/tensor';
import { StateDictError, type StateDictProblem } from '../errors';
import { Linear } from '../modules/linear';
import type { ParameterModule } from '../modules/parameters';
import { collectParameterSlots } from './collect-state-dict';

/** Tensors keyed by parameter path, as a Map or a plain record. */
export type StateDictInput = ReadonlyMap<string, Tensor> | Readonly<Record<string, Tensor>>;

export interface LoadStateDictOptions {
  /**
   * Default true: unknown and missing keys are errors. With false they are returned instead; shape
   * and dtype mismatches are errors either way.
   */
  strict?: boolean;
}

export interface LoadStateDictResult {
  /** Model parameters the state dict did not provide (only with `strict: false`). */
  readonly missingKeys: string[];
  /** State-dict keys the model has no parameter for (only with `strict: false`). */
  readonly unexpectedKeys: string[];
}

/** The tree `loadStateDict` writes into: a module tree whose embedding and head may share a weight. */
export interface TiedModel {
  readonly transformer: { readonly wte: { weight: Tensor } };
  readonly lm_head: { weight: Tensor };
}

const TIED_HEAD_KEY = 'lm_head.weight';
const EMBEDDING_KEY = 'transformer.wte.weight';

function formatShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

function sameShape(left: readonly number[], right: readonly number[]): boolean {
  return left.length === right.length && left.every((size, index) => size === right[index]);
}

/** Why a value is not a usable tensor, or undefined when it is one. */
function tensorDefect(value: unknown): string | undefined {
  if (
    typeof value !== 'object' ||
    value === null ||
    !('dtype' in value) ||
    !('shape' in value) ||
    !('data' in value)
  ) {
    return 'is not a tensor ({ dtype, shape, data })';
  }
  const tensor = value as Tensor;
  try {
    createTensor(tensor.dtype, tensor.shape, tensor.data);
    return undefined;
  } catch (error) {
    return `is not a valid tensor: ${PtqError.isInstance(error) ? error.message : String(error)}`;
  }
}

/** Extra words for a shape mismatch that has a known cause. */
function shapeHint(
  module: ParameterModule,
  name: string,
  got: readonly number[],
  expected: readonly number[],
): string {
  if (module instanceof Linear) {
    const { inFeatures, outFeatures, blockSize } = module;
    if (name === 'weight_scale') {
      let hint = ` (${module.describeWeightScaleLayout()})`;
      if (blockSize !== undefined && sameShape(got, [Math.ceil(outFeatures / blockSize), inFeatures])) {
        hint +=
          `; ${formatShape(got)} is the [out / ${blockSize}, in] layout of reshape(-1, in_features), which gives` +
          ` weights the scales of other blocks: pass ModelOpt's [out, in / ${blockSize}] layout, ${formatShape(expected)},` +
          ` where weight_scale[o, b] scales weight[o, ${blockSize}·b … ${blockSize}·b + ${blockSize - 1}]`;
      }
      return hint;
    }
    if (name === 'weight' && sameShape(got, [inFeatures, outFeatures]) && inFeatures !== outFeatures) {
      return ' (it looks transposed: Hugging Face Conv1D stores [in, out], the model wants [out, in])';
    }
  }
  return '';
}

function entriesOf(stateDict: StateDictInput): Array<[string, Tensor]> {
  return stateDict instanceof Map ? [...stateDict] : Object.entries(stateDict as Record<string, Tensor>);
}

/**
 * Whether `value` gives an int4 or int8 linear's weight as its integer codes (an int8 tensor, `[out,
 * in]`), which a linear holds in place of float values (see `Linear`).
 */
function givesCodes(module: ParameterModule, name: string, value: Tensor): boolean {
  return (
    value.dtype === 'int8' &&
    name === 'weight' &&
    module instanceof Linear &&
    (module.quantDtype === 'int4' || module.quantDtype === 'int8')
  );
}

/**
 * Loads `stateDict` into `model` (see `GPT.loadStateDict`). All keys are checked before anything is
 * written, so a failed load leaves the model as it was.
 */
export function loadStateDict(
  model: TiedModel,
  stateDict: StateDictInput,
  options: LoadStateDictOptions = {},
): LoadStateDictResult {
  const strict = options.strict ?? true;
  const slots = collectParameterSlots(model);
  const tied = model.lm_head.weight === model.transformer.wte.weight;
  const entries = entriesOf(stateDict);
  const given = new Map(entries);

  const unexpected: StateDictProblem[] = [];
  const mismatched: StateDictProblem[] = [];
  for (const [key, value] of entries) {
    const slot = slots.get(key);
    if (slot === undefined) {
      const prefixed = `transformer.${key}`;
      const hint = slots.has(prefixed) ? ` (did you mean "${prefixed}"?)` : '';
      unexpected.push({ kind: 'unexpected', key, message: `unexpected key "${key}"${hint}` });
      continue;
    }
    const defect = tensorDefect(value);
    if (defect !== undefined) {
      mismatched.push({ kind: 'invalid', key, message: `"${key}" ${defect}` });
      continue;
    }
    const expected = slot.tensor;
    if (!sameShape(value.shape, expected.shape)) {
      mismatched.push({
        kind: 'shape',
        key,
        message:
          `"${key}": shape ${formatShape(value.shape)} does not match the model's ${formatShape(expected.shape)}` +
          shapeHint(slot.module, slot.name, value.shape, expected.shape),
      });
    }
    if (givesCodes(slot.module, slot.name, value)) {
      // Any int8 value is an int8 code; int4's must lie in [-8, 7].
      const int4 = (slot.module as Linear).quantDtype === 'int4';
      const outside = int4 ? firstInt4CodeOutside(value.data as Int8Array) : -1;
      if (outside !== -1) {
        mismatched.push({
          kind: 'invalid',
          key,
          message: `"${key}": code ${(value.data as Int8Array)[outside]} at element ${outside} is outside ${(slot.module as Linear).quantDtype}'s range`,
        });
      }
    } else if (value.dtype !== expected.dtype) {
      mismatched.push({
        kind: 'dtype',
        key,
        message: `"${key}": dtype ${value.dtype} does not match the model's ${expected.dtype}`,
      });
    }
  }
  // Mismatches are reported in model order, whatever order the state dict came in.
  const order = new Map([...slots.keys()].map((key, index) => [key, index]));
  mismatched.sort((left, right) => order.get(left.key)! - order.get(right.key)!);
  const missing: StateDictProblem[] = [];
  for (const key of slots.keys()) {
    if (given.has(key) || (key === TIED_HEAD_KEY && tied)) continue;
    missing.push({ kind: 'missing', key, message: `missing key "${key}"` });
  }

  const problems = strict ? [...unexpected, ...missing, ...mismatched] : mismatched;
  if (problems.length > 0) {
    throw new StateDictError(problems);
  }

  for (const [key, value] of entries) {
    const slot = slots.get(key);
    slot?.module.setParameter(slot.name, value);
  }
  // A tied head follows a newly loaded embedding unless the state dict gives it a tensor of its own.
  if (tied && !given.has(TIED_HEAD_KEY)) {
    model.lm_head.weight = model.transformer.wte.weight;
  } else if (given.has(TIED_HEAD_KEY) && given.get(TIED_HEAD_KEY) === given.get(EMBEDDING_KEY)) {
    model.lm_head.weight = model.transformer.wte.weight;
  }
  return {
    missingKeys: missing.map((problem) => problem.key),
    unexpectedKeys: unexpected.map((problem) => problem.key),
  };
}
