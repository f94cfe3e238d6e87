/**
 * ModelOpt's quantizer buffer names → the runtime model's parameter names, as the seed's loader does:
 * `….weight_quantizer._amax` → `….weight_scale`, `….input_quantizer._amax` → `….input_scale`,
 * `….input_quantizer._pre_quant_scale` → `….pre_quant_scale`.
 */
export function renameQuantizerKey(
  key: string,
): { module: string; quantizer: string; target: string } | undefined {
  const match = /^(.*)\.(weight_quantizer|input_quantizer)\.(_amax|_pre_quant_scale)$/.exec(key);
  if (match === null) return undefined;
  const [, module = '', quantizer = '', buffer = ''] = match;
  if (buffer === '_pre_quant_scale') {
    return quantizer === 'input_quantizer'
      ? { module, quantizer: `${module}.${quantizer}`, target: `${module}.pre_quant_scale` }
      : undefined;
  }
  const target = quantizer === 'weight_quantizer' ? `${module}.weight_scale` : `${module}.input_scale`;
  return { module, quantizer: `${module}.${quantizer}`, target };
}

/** `attn.bias` / `attn.masked_bias` are causal-mask buffers of old checkpoints, not weights. */
export function isAttentionBuffer(key: string): boolean {
  return /(^|\.)attn\.(bias|masked_bias)$/.test(key);
}
