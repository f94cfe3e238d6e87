/**
 * How the AWQ search computes its losses — an execution choice: both forms compute ModelOpt's loss,
 * and differ only by float32 rounding. `outputs` runs every candidate over every batch's captured
 * inputs (tokens·in·out a candidate); `gram` accumulates the inputs' Gram matrix once (tokens·in²)
 * and scores each candidate from it (out·in²), holding in² floats instead of tokens × in; `auto`
 * takes the cheaper of the two per linear.
 */
export type AwqLossForm = 'auto' | 'outputs' | 'gram';

export const AWQ_LOSS_FORMS: readonly AwqLossForm[] = ['auto', 'outputs', 'gram'];

/**
 * The form a linear's search runs in: `form` itself unless `auto`, which compares the multiply-adds
 * of each over all `tokens` (real tokens of every batch) and `alphas` candidates — outputs:
 * tokens·in·out per candidate plus the unquantized product; Gram: tokens·in² once plus out·in² per
 * candidate.
 */
export function awqLossFormFor(
  form: AwqLossForm,
  tokens: number,
  inFeatures: number,
  out: number,
  alphas: number,
): 'outputs' | 'gram' {
  if (form !== 'auto') return form;
  const outputs = tokens * inFeatures * out * (alphas + 1);
  const gram = tokens * inFeatures * inFeatures + alphas * out * inFeatures * inFeatures;
  return gram < outputs ? 'gram' : 'outputs';
}
