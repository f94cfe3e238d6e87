/**
 * Sampling on the device, as `sampleToken` (generate/sampling.ts) samples on the host: the
 * candidates are the whole vocabulary in vocabulary order, or the top-k most likely first (a tie
 * going to the lower index); weights `exp((logit − max) / temperature)`; one uniform draw `u`
 * picks the first candidate whose cumulative weight exceeds `u · total`. The draws come from the
 * host's seeded generator, one per position (`draws[position]` for the token written there), so a
 * seed picks the same tokens on both paths.
 *
 * The host sums in float64, one candidate after another; the kernel sums in float32, per thread
 * then across threads. Where `u · total` falls within float32 rounding of a cumulative sum (odds
 * of about 1e-6 a token), the two can pick neighbouring candidates.
 */

/** Threads of the one workgroup: compatibility mode's maxComputeInvocationsPerWorkgroup. */
const THREADS = 128;

/** The smallest power of two ≥ `count`. */
export function nextPowerOfTwo(count: number): number {
  let size = 1;
  while (size < count) size *= 2;
  return size;
}

/** `u32` slots of the candidates buffer: room to sort any top-k below the vocabulary size. */
export function sampleCandidateSlots(vocabSize: number): number {
  return nextPowerOfTwo(vocabSize);
}

/**
 * Ends a sampled step: picks the next token from `logits` with `sampling` (`temperature`, and
 * `top_k`, where `top_k ≥ vocab` means the whole vocabulary) and `draws[position + 1]`, writes it
 * as the next position's token unless that token is already known (a prompt), and advances the
 * position, exactly as `greedyCombineShader` does. One workgroup.
 *
 * Top-k: a radix select (four passes of 8-bit digits over the logits' order-preserving bits) finds
 * the k-th largest logit; the candidates above it and the lowest-index ties at it are gathered in
 * vocabulary order, then sorted most likely first with a bitonic sort in the candidates buffer.
 * Bindings: 0 state, 1 tokens, 2 logits, 3 draws, 4 candidates, 5 sampling.
 */
export function sampleAdvanceShader(vocabSize: number, maxSequence: number): string {
  const chunk = Math.ceil(vocabSize / THREADS);
  return /* wgsl */ `
struct Sampling {
  temperature: f32,
  top_k: u32,
}
@group(0) @binding(0) var<storage, read_write> state: array<u32>;
@group(0) @binding(1) var<storage, read_write> tokens: array<u32>;
@group(0) @binding(2) var<storage, read> logits: array<f32>;
@group(0) @binding(3) var<storage, read> draws: array<f32>;
@group(0) @binding(4) var<storage, read_write> candidates: array<u32>;
@group(0) @binding(5) var<uniform> sampling: Sampling;

var<workgroup> histogram: array<atomic<u32>, 256>;
var<workgroup> less_counts: array<u32, ${THREADS}>;
var<workgroup> tie_counts: array<u32, ${THREADS}>;
var<workgroup> sums: array<f32, ${THREADS}>;
var<workgroup> shared_u32: u32;
var<workgroup> shared_count: u32;
var<workgroup> shared_f32: f32;
var<workgroup> chosen_thread: u32;
var<workgroup> chosen_start: f32;
var<workgroup> chosen_goal: f32;

/**
 * Ranks logits most likely first: a smaller key is a larger value. -0 counts as +0, since the host
 * compares values; then order-preserving bits, inverted.
 */
fn rank_key(value: f32) -> u32 {
  var bits = bitcast<u32>(value);
  if (bits == 0x80000000u) {
    bits = 0u;
  }
  let ascending = select(bits | 0x80000000u, ~bits, (bits & 0x80000000u) != 0u);
  return ~ascending;
}

/** Whether candidate a (a token, or 0xffffffff for padding) ranks after candidate b. */
fn ranks_after(a: u32, b: u32) -> bool {
  if (a == 0xffffffffu || b == 0xffffffffu) {
    return a == 0xffffffffu && b != 0xffffffffu;
  }
  let left = rank_key(logits[a]);
  let right = rank_key(logits[b]);
  return left > right || (left == right && a > b);
}

@compute @workgroup_size(${THREADS})
fn main(@builtin(local_invocation_id) local: vec3<u32>) {
  let tid = local.x;
  let top_k = sampling.top_k;
  let vocabulary_order = top_k >= ${vocabSize}u;
  let count = select(top_k, ${vocabSize}u, vocabulary_order);

  var highest = -3.402823e38;
  if (vocabulary_order) {
    var local_max = -3.402823e38;
    for (var t = tid; t < ${vocabSize}u; t += ${THREADS}u) {
      local_max = max(local_max, logits[t]);
    }
    sums[tid] = local_max;
    workgroupBarrier();
    if (tid == 0u) {
      var value = sums[0];
      for (var t = 1u; t < ${THREADS}u; t++) {
        value = max(value, sums[t]);
      }
      shared_f32 = value;
    }
    highest = workgroupUniformLoad(&shared_f32);
  } else {
    // The k-th smallest rank key, a digit at a time; \`remaining\` counts what is still to take.
    var prefix = 0u;
    var mask = 0u;
    var remaining = top_k;
    for (var digit = 0u; digit < 4u; digit++) {
      let shift = 24u - 8u * digit;
      for (var bin = tid; bin < 256u; bin += ${THREADS}u) {
        atomicStore(&histogram[bin], 0u);
      }
      workgroupBarrier();
      for (var t = tid; t < ${vocabSize}u; t += ${THREADS}u) {
        let key = rank_key(logits[t]);
        if ((key & mask) == prefix) {
          atomicAdd(&histogram[(key >> shift) & 255u], 1u);
        }
      }
      workgroupBarrier();
      if (tid == 0u) {
        var before = 0u;
        var bin = 0u;
        loop {
          let here = atomicLoad(&histogram[bin]);
          if (before + here >= remaining || bin == 255u) {
            break;
          }
          before += here;
          bin++;
        }
        shared_u32 = prefix | (bin << shift);
        shared_count = remaining - before;
      }
      prefix = workgroupUniformLoad(&shared_u32);
      remaining = workgroupUniformLoad(&shared_count);
      mask |= 255u << shift;
    }
    // prefix is the k-th key; every key below it is taken, and the first \`remaining\` ties at it.
    let begin = tid * ${chunk}u;
    let end = min(begin + ${chunk}u, ${vocabSize}u);
    var less = 0u;
    var ties = 0u;
    for (var t = begin; t < end; t++) {
      let key = rank_key(logits[t]);
      less += select(0u, 1u, key < prefix);
      ties += select(0u, 1u, key == prefix);
    }
    less_counts[tid] = less;
    tie_counts[tid] = ties;
    workgroupBarrier();
    if (tid == 0u) {
      // Exclusive scans: each thread's first output slot and the rank of its first tie.
      var slot = 0u;
      var tie_rank = 0u;
      for (var t = 0u; t < ${THREADS}u; t++) {
        let thread_less = less_counts[t];
        let thread_ties = tie_counts[t];
        less_counts[t] = slot;
        tie_counts[t] = tie_rank;
        let taken = min(thread_ties, select(0u, remaining - tie_rank, remaining > tie_rank));
        slot += thread_less + taken;
        tie_rank += thread_ties;
      }
    }
    workgroupBarrier();
    var slot = less_counts[tid];
    var tie_rank = tie_counts[tid];
    for (var t = begin; t < end; t++) {
      let key = rank_key(logits[t]);
      if (key < prefix || (key == prefix && tie_rank < remaining)) {
        candidates[slot] = t;
        slot++;
      }
      if (key == prefix) {
        tie_rank++;
      }
    }
    // A bitonic sort over the next power of two, padded with 0xffffffff (ranked last).
    var size = 1u;
    while (size < count) {
      size <<= 1u;
    }
    for (var index = count + tid; index < size; index += ${THREADS}u) {
      candidates[index] = 0xffffffffu;
    }
    storageBarrier();
    workgroupBarrier();
    for (var width = 2u; width <= size; width <<= 1u) {
      for (var stride = width >> 1u; stride > 0u; stride >>= 1u) {
        for (var pair = tid; pair < size / 2u; pair += ${THREADS}u) {
          let low = 2u * stride * (pair / stride) + pair % stride;
          let high = low + stride;
          let a = candidates[low];
          let b = candidates[high];
          let ascending = (low & width) == 0u;
          if (select(ranks_after(b, a), ranks_after(a, b), ascending)) {
            candidates[low] = b;
            candidates[high] = a;
          }
        }
        storageBarrier();
        workgroupBarrier();
      }
    }
    highest = logits[candidates[0]];
  }

  // Each thread sums a run of consecutive candidates; thread 0 adds the runs in order, sets the
  // goal (draw × total) and names the run it falls in; that run's thread walks it.
  let temperature = sampling.temperature;
  let run = (count + ${THREADS - 1}u) / ${THREADS}u;
  let first = min(tid * run, count);
  let last = min(first + run, count);
  var local_sum = 0.0;
  for (var r = first; r < last; r++) {
    let token = select(candidates[r], r, vocabulary_order);
    local_sum += exp((logits[token] - highest) / temperature);
  }
  sums[tid] = local_sum;
  workgroupBarrier();
  if (tid == 0u) {
    var running = 0.0;
    for (var t = 0u; t < ${THREADS}u; t++) {
      let here = sums[t];
      sums[t] = running;
      running += here;
      less_counts[t] = select(0u, 1u, here > 0.0);
    }
    let goal = draws[state[0] + 1u] * running;
    // The last run holding weight that starts at or below the goal.
    var thread = 0u;
    for (var t = 0u; t < ${THREADS}u; t++) {
      if (less_counts[t] == 1u && sums[t] <= goal) {
        thread = t;
      }
    }
    chosen_thread = thread;
    chosen_start = sums[thread];
    chosen_goal = goal;
  }
  workgroupBarrier();
  if (tid == chosen_thread) {
    let goal = chosen_goal;
    var cumulative = chosen_start;
    var chosen = select(candidates[first], first, vocabulary_order);
    for (var r = first; r < last; r++) {
      let token = select(candidates[r], r, vocabulary_order);
      let weight = exp((logits[token] - highest) / temperature);
      cumulative += weight;
      if (weight > 0.0) {
        // Rounding can leave the goal a hair above the run's last sum: its last weighted candidate.
        chosen = token;
      }
      if (goal < cumulative) {
        break;
      }
    }
    let next = state[0] + 1u;
    if (next >= state[1] && next < ${maxSequence + 1}u) {
      tokens[next] = chosen;
      state[1] = next + 1u;
    }
    state[0] = next;
  }
}
`;
}

/** Workgroup memory of the sampling kernel. */
export const SAMPLE_WORKGROUP_BYTES = 4 * (256 + 3 * THREADS + 6);
