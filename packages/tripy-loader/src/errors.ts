import { PtqError } from '@ptq/errors';

/** A quantized state dict holds a key the runtime model has no place for, or misses one. */
export class WeightMappingError extends PtqError {
  constructor(message: string) {
    super('PTQ_WEIGHT_MAPPING', message);
  }
}
