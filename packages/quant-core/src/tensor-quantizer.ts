import { InvalidArgumentError } from '@ptq/errors';
import { Module } from '@ptq/module-path';
import { MAXBOUND, type QuantFormat } from '@ptq/scale-math';
import type { Tensor } from '@ptq/tensor';
import type { NumBits, QuantizerAttributeConfig } from './quant-config';

/**
 * ModelOpt's `TensorQuantizer`, reduced to what post-training quantization of GPT-2 needs: its
 * attributes, its calibrated `_amax` (in ModelOpt's shape) and AWQ's `_pre_quant_scale`.
 */
export class TensorQuantizer extends Module {
  enabled = true;
  numBits: NumBits = 8;
  axis: number | null = null;
  blockSizes: Readonly<Record<number, number>> | null = null;
  unsigned = false;
  narrowRange = false;
  /** Calibrated range, shaped as ModelOpt stores `_amax`: `[]`, `[out, 1]` or `[out·blocks, 1]`. */
  amax: Tensor<'float32'> | undefined = undefined;
  /** AWQ's per-input-channel multiplier (`_pre_quant_scale`), applied to the input even when disabled. */
  preQuantScale: Tensor<'float32'> | undefined = undefined;

  /**
   * Applies one config entry as ModelOpt does: the entry becomes a full `QuantizerAttributeConfig`, so
   * attributes it does not name take their defaults (enabled, 8 bits, per-tensor, no blocks).
   */
  applyAttributes(attributes: QuantizerAttributeConfig): void {
    this.enabled = attributes.enable ?? true;
    this.numBits = attributes.numBits ?? 8;
    this.axis = attributes.axis ?? null;
    this.blockSizes = attributes.blockSizes ?? null;
    this.unsigned = attributes.unsigned ?? false;
    this.narrowRange = attributes.narrowRange ?? false;
  }

  /** The storage format this quantizer's attributes describe. */
  get format(): QuantFormat {
    const bits = this.numBits;
    if (Array.isArray(bits)) {
      if (bits[0] === 4 && bits[1] === 3) return 'float8e4m3fn';
    } else if (!this.unsigned && bits === 8) {
      return 'int8';
    } else if (!this.unsigned && bits === 4) {
      return 'int4';
    }
    throw new InvalidArgumentError(
      'numBits',
      `ptq supports signed 8 and 4 bit integers and float8 e4m3fn ([4, 3]); got ${JSON.stringify(bits)}${this.unsigned ? ' unsigned' : ''}`,
    );
  }

  /** The largest representable magnitude: 127, 7 or 448 (ModelOpt's `maxbound`). */
  get maxbound(): number {
    return MAXBOUND[this.format];
  }

  /** Block size along the last axis, or undefined when this quantizer does not work in blocks. */
  get blockSize(): number | undefined {
    if (this.blockSizes === null) return undefined;
    const size = this.blockSizes[-1];
    const keys = Object.keys(this.blockSizes).filter((key) => key !== 'type');
    if (size === undefined || keys.length !== 1) {
      throw new InvalidArgumentError(
        'blockSizes',
        `ptq supports blocks along the last axis only ({ [-1]: size }), got ${JSON.stringify(this.blockSizes)}`,
      );
    }
    return size;
  }

  /** A short description, like ModelOpt's quantizer repr. */
  describe(): string {
    if (!this.enabled) return 'TensorQuantizer(disabled)';
    const layout =
      this.blockSize !== undefined
        ? `block_sizes={-1: ${this.blockSize}}`
        : `axis=${this.axis === null ? 'None' : this.axis}`;
    const amax = this.amax === undefined ? 'amax=uncalibrated' : `amax=[${this.amax.shape.join(', ')}]`;
    return `TensorQuantizer(${this.format}, ${layout}, ${amax}${this.preQuantScale ? ', pre_quant_scale' : ''})`;
  }
}
