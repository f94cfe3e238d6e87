import { PtqError, type PtqErrorOptions } from '@ptq/errors';

/** A device named by the caller cannot run sessions here (no adapter, no provider library…). */
export class DeviceUnavailableError extends PtqError {
  readonly device: string;

  constructor(device: string, reason: string, options: PtqErrorOptions = {}) {
    super('PTQ_DEVICE_UNAVAILABLE', `Device "${device}" is not available: ${reason}`, options);
    this.device = device;
  }
}

/** onnxruntime refused a model on a device that works (invalid graph, unsupported op…). */
export class OnnxSessionError extends PtqError {
  readonly device: string;

  constructor(device: string, reason: string, options: PtqErrorOptions = {}) {
    super('PTQ_ONNX_SESSION', `onnxruntime could not create a session on ${device}: ${reason}`, options);
    this.device = device;
  }
}
