import { FileFormatError, PtqError, type PtqErrorOptions } from '@ptq/errors';

/** A graph definition breaks an ONNX rule: an unknown input, a duplicate name, an unsupported dtype… */
export class OnnxGraphError extends PtqError {
  constructor(message: string, options: PtqErrorOptions = {}) {
    super('PTQ_ONNX_GRAPH', message, options);
  }
}

/** A model does not fit in one protobuf message (2 GiB); its initializers must go to external data. */
export class OnnxModelTooLargeError extends PtqError {
  readonly byteLength: number;

  constructor(message: string, byteLength: number) {
    super('PTQ_ONNX_MODEL_TOO_LARGE', message);
    this.byteLength = byteLength;
  }
}

/** ModelProto bytes that break the protobuf wire format or the ONNX schema. */
export class OnnxFormatError extends FileFormatError {
  constructor(file: string, message: string, options: PtqErrorOptions = {}) {
    super('PTQ_ONNX_FORMAT', file, message, options);
  }
}

/** Writing a model or its external data file failed; nothing was left behind. */
export class OnnxWriteError extends PtqError {
  readonly file: string;

  constructor(file: string, message: string, options: PtqErrorOptions = {}) {
    super('PTQ_ONNX_WRITE', `${file}: ${message}`, options);
    this.file = file;
  }
}
