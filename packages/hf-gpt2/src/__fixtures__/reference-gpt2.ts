/**
 * An independent GPT-2 forward for tests: plain float64 loops over HF-named weights, written from the
 * transformers GPT2LMHeadModel definition (not from this package's graph builder), so a bug in the
 * graph shows up as a difference instead of being reproduced.
 */

export interface ReferenceConfig {
  readonly n_layer: number;
  readonly n_head: number;
  readonly n_embd: number;
  readonly n_inner: number;
  readonly vocab_size: number;
  readonly n_positions: number;
  readonly layer_norm_epsilon: number;
}

/** Weights by their prefixed HF names (`transformer.h.0.attn.c_attn.weight`, `lm_head.weight`). */
export type ReferenceWeights = ReadonlyMap<string, Float32Array>;

export interface ReferenceResult {
  /** `logits[b][p]` = the vocab logits at batch row b, position p (pad rows included, garbage there). */
  readonly logits: Float64Array[][];
  /** Per linear path, `inputs[b][p]` = the linear's input vector at (b, p). */
  readonly linearInputs: Map<string, Float64Array[][]>;
}

function weight(weights: ReferenceWeights, name: string): Float32Array {
  const value = weights.get(name);
  if (value === undefined) throw new Error(`reference: missing weight ${name}`);
  return value;
}

function layerNorm(x: Float64Array, gamma: Float32Array, beta: Float32Array, epsilon: number): Float64Array {
  const n = x.length;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += x[i]!;
  mean /= n;
  let variance = 0;
  for (let i = 0; i < n; i++) variance += (x[i]! - mean) ** 2;
  variance /= n;
  const inverse = 1 / Math.sqrt(variance + epsilon);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = (x[i]! - mean) * inverse * gamma[i]! + beta[i]!;
  return out;
}

/** HF Conv1D: y = x · W + b with W stored [in, out]. */
function conv1d(x: Float64Array, w: Float32Array, b: Float32Array, outFeatures: number): Float64Array {
  const out = new Float64Array(outFeatures);
  for (let o = 0; o < outFeatures; o++) out[o] = b[o]!;
  for (let i = 0; i < x.length; i++) {
    const xi = x[i]!;
    const row = i * outFeatures;
    for (let o = 0; o < outFeatures; o++) out[o]! += xi * w[row + o]!;
  }
  return out;
}

function geluNew(x: number): number {
  return 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));
}

export interface ReferenceOptions {
  /** Changes a linear's input before its matmul (after it was recorded), e.g. a pre-quant scale. */
  readonly transformInput?: (path: string, x: Float64Array) => Float64Array;
}

export function referenceForward(
  config: ReferenceConfig,
  weights: ReferenceWeights,
  inputIds: readonly (readonly number[])[],
  attentionMask: readonly (readonly number[])[],
  options: ReferenceOptions = {},
): ReferenceResult {
  const transform = (path: string, x: Float64Array) => options.transformInput?.(path, x) ?? x;
  const { n_embd: embed, n_head: heads, n_inner: inner, vocab_size: vocab } = config;
  const headDim = embed / heads;
  const epsilon = config.layer_norm_epsilon;
  const linearInputs = new Map<string, Float64Array[][]>();
  const record = (path: string, batch: number, rows: Float64Array[]) => {
    let perBatch = linearInputs.get(path);
    if (perBatch === undefined) {
      perBatch = [];
      linearInputs.set(path, perBatch);
    }
    perBatch[batch] = rows;
  };
  const wte = weight(weights, 'transformer.wte.weight');
  const wpe = weight(weights, 'transformer.wpe.weight');
  const lmHead = weights.get('lm_head.weight') ?? wte;
  const logits: Float64Array[][] = [];

  inputIds.forEach((ids, batch) => {
    const mask = attentionMask[batch]!;
    const length = ids.length;
    let running = 0;
    let hidden = ids.map((id, p) => {
      running += mask[p]!;
      const position = Math.max(running - 1, 0);
      const row = new Float64Array(embed);
      for (let e = 0; e < embed; e++) row[e] = wte[id * embed + e]! + wpe[position * embed + e]!;
      return row;
    });

    for (let layer = 0; layer < config.n_layer; layer++) {
      const prefix = `transformer.h.${layer}`;
      const ln1 = hidden.map((x) =>
        layerNorm(
          x,
          weight(weights, `${prefix}.ln_1.weight`),
          weight(weights, `${prefix}.ln_1.bias`),
          epsilon,
        ),
      );
      record(`${prefix}.attn.c_attn`, batch, ln1);
      const qkv = ln1.map((x) =>
        conv1d(
          transform(`${prefix}.attn.c_attn`, x),
          weight(weights, `${prefix}.attn.c_attn.weight`),
          weight(weights, `${prefix}.attn.c_attn.bias`),
          3 * embed,
        ),
      );
      const merged = Array.from({ length }, () => new Float64Array(embed));
      for (let head = 0; head < heads; head++) {
        for (let query = 0; query < length; query++) {
          const allowed: number[] = [];
          for (let key = 0; key <= query; key++) if (mask[key] === 1) allowed.push(key);
          // A pad query with no real key before it: its output is never read; keep it finite.
          const keys = allowed.length > 0 ? allowed : Array.from({ length }, (_, key) => key);
          const scores = keys.map((key) => {
            let dot = 0;
            for (let d = 0; d < headDim; d++) {
              dot += qkv[query]![head * headDim + d]! * qkv[key]![embed + head * headDim + d]!;
            }
            return dot / Math.sqrt(headDim);
          });
          const max = Math.max(...scores);
          const exps = scores.map((score) => Math.exp(score - max));
          const sum = exps.reduce((a, b) => a + b, 0);
          for (let d = 0; d < headDim; d++) {
            let value = 0;
            keys.forEach((key, index) => {
              value += (exps[index]! / sum) * qkv[key]![2 * embed + head * headDim + d]!;
            });
            merged[query]![head * headDim + d] = value;
          }
        }
      }
      record(`${prefix}.attn.c_proj`, batch, merged);
      hidden = hidden.map((x, p) => {
        const projected = conv1d(
          transform(`${prefix}.attn.c_proj`, merged[p]!),
          weight(weights, `${prefix}.attn.c_proj.weight`),
          weight(weights, `${prefix}.attn.c_proj.bias`),
          embed,
        );
        return x.map((value, e) => value + projected[e]!);
      });
      const ln2 = hidden.map((x) =>
        layerNorm(
          x,
          weight(weights, `${prefix}.ln_2.weight`),
          weight(weights, `${prefix}.ln_2.bias`),
          epsilon,
        ),
      );
      record(`${prefix}.mlp.c_fc`, batch, ln2);
      const activated = ln2.map((x) =>
        conv1d(
          transform(`${prefix}.mlp.c_fc`, x),
          weight(weights, `${prefix}.mlp.c_fc.weight`),
          weight(weights, `${prefix}.mlp.c_fc.bias`),
          inner,
        ).map(geluNew),
      );
      record(`${prefix}.mlp.c_proj`, batch, activated);
      hidden = hidden.map((x, p) => {
        const projected = conv1d(
          transform(`${prefix}.mlp.c_proj`, activated[p]!),
          weight(weights, `${prefix}.mlp.c_proj.weight`),
          weight(weights, `${prefix}.mlp.c_proj.bias`),
          embed,
        );
        return x.map((value, e) => value + projected[e]!);
      });
    }

    const final = hidden.map((x) =>
      layerNorm(
        x,
        weight(weights, 'transformer.ln_f.weight'),
        weight(weights, 'transformer.ln_f.bias'),
        epsilon,
      ),
    );
    record('lm_head', batch, final);
    // nn.Linear: logits[v] = Σ_e x[e] · W[v, e], W stored [vocab, embed].
    logits[batch] = final.map((input) => {
      const x = transform('lm_head', input);
      const out = new Float64Array(vocab);
      for (let v = 0; v < vocab; v++) {
        let sum = 0;
        for (let e = 0; e < embed; e++) sum += x[e]! * lmHead[v * embed + e]!;
        out[v] = sum;
      }
      return out;
    });
  });
  return { logits, linearInputs };
}
