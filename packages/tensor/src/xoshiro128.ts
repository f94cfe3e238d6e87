import { InvalidArgumentError } from '@ptq/errors';

/** A source of uniform numbers in [0, 1); ptq's one seeded generator is `createXoshiro128`. */
export type RandomSource = () => number;

/** splitmix32: spreads a 32-bit seed over the generator state so nearby seeds give unrelated streams. */
function splitmix32(state: number): [number, number] {
  const next = (state + 0x9e3779b9) | 0;
  let mixed = next;
  mixed = Math.imul(mixed ^ (mixed >>> 16), 0x85ebca6b);
  mixed = Math.imul(mixed ^ (mixed >>> 13), 0xc2b2ae35);
  mixed ^= mixed >>> 16;
  return [next, mixed >>> 0];
}

/**
 * xoshiro128** (Blackman and Vigna, 2018): 128 bits of state, period 2^128 − 1, 32-bit outputs.
 * Seeded through splitmix32 from the low and high 32 bits of `seed` (a safe integer ≥ 0), so every
 * seed gives its own reproducible stream on every platform (only 32-bit integer arithmetic is used).
 * Returns numbers `output / 2^32` in [0, 1).
 */
export function createXoshiro128(seed: number): RandomSource {
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw new InvalidArgumentError('seed', `must be a non-negative safe integer, got ${String(seed)}`);
  }
  let mix = (seed % 0x100000000) ^ Math.imul(Math.floor(seed / 0x100000000), 0x27d4eb2f);
  const state = new Uint32Array(4);
  for (let index = 0; index < 4; index += 1) {
    const [next, output] = splitmix32(mix);
    mix = next;
    state[index] = output;
  }
  if (state[0] === 0 && state[1] === 0 && state[2] === 0 && state[3] === 0) {
    state[0] = 1; // the all-zero state is the one fixed point
  }
  return xoshiro128FromState(state);
}

/** xoshiro128** over a given 128-bit state (four uint32 words, not all zero), which it advances. */
export function xoshiro128FromState(state: Uint32Array): RandomSource {
  return () => {
    const result = Math.imul(rotateLeft(Math.imul(state[1]!, 5), 7), 9) >>> 0;
    const shifted = state[1]! << 9;
    state[2]! ^= state[0]!;
    state[3]! ^= state[1]!;
    state[1]! ^= state[2]!;
    state[0]! ^= state[3]!;
    state[2]! ^= shifted;
    state[3] = rotateLeft(state[3]!, 11);
    return result / 0x100000000;
  };
}

function rotateLeft(value: number, bits: number): number {
  return (value << bits) | (value >>> (32 - bits));
}
