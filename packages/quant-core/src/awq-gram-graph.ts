import { GraphBuilder } from '@ptq/onnx-format';
import { createTensor } from '@ptq/tensor';
import { type AwqLossGraphOptions, int64, quantizedScaledWeight } from './awq-quantized-weight-graph';

/**
 * The Gram form of the AWQ search. The loss ModelOpt sums over batches,
 * `Σ_b mean over (N_b × out) of ((X_b·diag(1/s))·Q(W·diag(s))ᵀ + b − (X_b·Wᵀ + b))²`, is — the bias
 * cancels — `Σ_o D[o,:]·H·D[o,:]ᵀ / out` with `D = Q(W·diag(s))·diag(1/s) − W` and
 * `H = Σ_b X_bᵀ·X_b / N_b`. H is accumulated once, as each batch's inputs arrive (in² floats instead of
 * tokens × in), and a candidate then costs out·in² instead of tokens·in·out: the same loss up to
 * float32 rounding.
 *
 * This graph adds one batch's term: `x` [tokens, in] → `xᵀ·x / tokens`, plus `h` when `accumulate`
 * (the first batch needs no zeros uploaded).
 */
export function inputGramGraph(accumulate: boolean) {
  const graph = new GraphBuilder({ name: 'awq_input_gram', opsetImports: { '': 21 } });
  const x = graph.input('x', 'float32', ['tokens', 'in']);
  const tokens = graph.node(
    'Cast',
    [
      graph.node(
        'Gather',
        [graph.node('Shape', [x]), graph.constant(createTensor('int64', [], BigInt64Array.of(0n)))],
        {
          axis: 0,
        },
      ),
    ],
    { to: 1 },
  );
  const term = graph.node('Div', [
    graph.node('MatMul', [graph.node('Transpose', [x], { perm: [1, 0] }), x]),
    tokens,
  ]);
  const gram = accumulate ? graph.node('Add', [graph.input('h', 'float32', ['in', 'in']), term]) : term;
  graph.output(gram, 'gram', 'float32', ['in', 'in']);
  return graph.build();
}

/**
 * The losses of stacked candidates from H: inputs `w` [out, in], `h` [in, in], `s` and `inverse_s`
 * [alphas, 1, in] (as `awqLossGraph`'s), output `losses` [alphas]. Q is `awqLossGraph`'s, built by
 * the same code. The sum over `in` comes before the mean over `out` in both forms (one workgroup
 * per candidate would otherwise take every product on WebGPU; the same value up to float rounding).
 */
export function awqGramLossGraph(blockSize: number, padded: boolean, options: AwqLossGraphOptions = {}) {
  const graph = new GraphBuilder({ name: 'awq_gram_losses', opsetImports: { '': 21 } });
  const w = graph.input('w', 'float32', ['out', 'in']);
  const h = graph.input('h', 'float32', ['in', 'in']);
  const s = graph.input('s', 'float32', ['alphas', 1, 'in']);
  const inverseS = graph.input('inverse_s', 'float32', ['alphas', 1, 'in']);
  const quantized = quantizedScaledWeight(graph, w, s, blockSize, padded, options);
  // [alphas, out, in]: the candidate's effective weight minus the original.
  const difference = graph.node('Sub', [graph.node('Mul', [quantized, inverseS]), w]);
  const rowSums = graph.node(
    'ReduceSum',
    [graph.node('Mul', [graph.node('MatMul', [difference, h]), difference]), graph.constant(int64([2]))],
    { keepdims: 0 },
  );
  const losses = graph.node('ReduceMean', [rowSums, graph.constant(int64([1]))], { keepdims: 0 });
  graph.output(losses, 'losses', 'float32', ['alphas']);
  return graph.build();
}
