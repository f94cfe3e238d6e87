import { describe, expect, it } from 'vitest';
import type { Gpt2Config } from '../config';
import { attentionHeadGroupsFor } from './gpt2-graph-parts';

const gpt2 = { n_head: 12 } as Gpt2Config;
const MIB_128 = 128 * 2 ** 20;

describe('attentionHeadGroupsFor', () => {
  it.each([
    // rows, sequence, groups: [rows, 12 / groups, sequence, sequence] float32 within 128 MiB
    [1, 32, 1],
    [8, 512, 1], // 96 MiB
    [16, 512, 2], // 192 MiB whole, 96 MiB in halves
    [32, 512, 3], // 384 MiB whole, 128 MiB in thirds: exactly the limit
    [33, 512, 4],
    [64, 512, 6],
    [64, 1024, 12], // one head is 256 MiB: every head alone
  ])('%i rows of %i tokens: %i group(s)', (rows, sequence, groups) => {
    expect(attentionHeadGroupsFor(gpt2, rows, sequence, MIB_128)).toBe(groups);
    const scores = (rows * (12 / groups) * sequence * sequence * 4) / 2 ** 20;
    if (groups < 12) expect(scores).toBeLessThanOrEqual(128);
  });

  it('only ever picks a divisor of the heads', () => {
    const twentyFive = { n_head: 25 } as Gpt2Config;
    for (let rows = 1; rows <= 64; rows++) {
      expect(25 % attentionHeadGroupsFor(twentyFive, rows, 512, MIB_128)).toBe(0);
    }
  });
});
