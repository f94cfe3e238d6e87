import { InvalidArgumentError } from '@ptq/errors';
import { isSupportedDType } from '@ptq/onnx-format';
import {
  allocateStorage,
  type DType,
  numElements,
  storageLengthOf,
  type Tensor,
  type TensorData,
} from '@ptq/tensor';
import { Tensor as OrtTensor } from 'onnxruntime-node';
import { DTYPE_BY_ORT_TENSOR_TYPE, ortTypeOf } from './ort-tensor-types';

/**
 * Wraps a tensor for onnxruntime-node without copying: float16 goes as its raw bits in a
 * Uint16Array (Node 20 has no Float16Array), int4 as packed bytes, and bfloat16 / float8 — which
 * onnxruntime-node cannot carry — as their raw bits typed `uint16` / `uint8`.
 */
export function toOrtTensor(tensor: Tensor): OrtTensor {
  if (!isSupportedDType(tensor.dtype)) {
    throw new InvalidArgumentError(
      'tensor',
      `dtype "${String(tensor.dtype)}" has no onnxruntime tensor type`,
    );
  }
  const count = numElements(tensor.shape);
  if (tensor.data.length !== storageLengthOf(tensor.dtype, count)) {
    throw new InvalidArgumentError(
      'tensor',
      `a ${tensor.dtype} tensor of shape [${tensor.shape.join(', ')}] needs ${storageLengthOf(tensor.dtype, count)} storage elements, got ${tensor.data.length}`,
    );
  }
  return new OrtTensor(ortTypeOf(tensor.dtype), tensor.data as Exclude<OrtTensor.DataType, string[]>, [
    ...tensor.shape,
  ]);
}

/**
 * Whether `value` is already an onnxruntime tensor (which may live on a device) rather than a ptq
 * tensor: told apart by `location`, which only onnxruntime's have (whichever copy of its class made it).
 */
export function isOrtTensor(value: Tensor | OrtTensor): value is OrtTensor {
  return 'location' in value;
}

/**
 * An onnxruntime tensor as it is (a `gpu-buffer` tensor stays on its device), or a ptq tensor wrapped
 * by `toOrtTensor`: for feeds that may come from an earlier run's device outputs or from the host.
 */
export function asOrtTensor(value: Tensor | OrtTensor): OrtTensor {
  return isOrtTensor(value) ? value : toOrtTensor(value);
}

export interface FromOrtTensorOptions {
  /**
   * Reinterpret the bits as this dtype: `'bfloat16'` for a `uint16` tensor, `'float8e4m3fn'` for a
   * `uint8` one. Must travel as the same onnxruntime type.
   */
  dtype?: DType;
}

/**
 * A view of a CPU onnxruntime tensor as a ptq `Tensor`, sharing its memory. GPU-resident tensors
 * are refused: reading their data from Node aborts the process, so ask the session for CPU outputs.
 */
export function fromOrtTensor(tensor: OrtTensor, options: FromOrtTensorOptions = {}): Tensor {
  if (tensor.location !== 'cpu' && tensor.location !== 'cpu-pinned') {
    throw new InvalidArgumentError(
      'tensor',
      `data is on "${tensor.location}"; request this output on the CPU (preferredOutputLocation "cpu") before reading it`,
    );
  }
  const dtype = options.dtype ?? DTYPE_BY_ORT_TENSOR_TYPE[tensor.type];
  if (dtype === undefined) {
    throw new InvalidArgumentError(
      'tensor',
      `onnxruntime type "${tensor.type}" has no ptq dtype${tensor.type === 'uint16' ? "; pass { dtype: 'bfloat16' } if it holds bfloat16 bits" : ''}`,
    );
  }
  if (ortTypeOf(dtype) !== tensor.type) {
    throw new InvalidArgumentError(
      'options.dtype',
      `"${dtype}" travels as onnxruntime type "${ortTypeOf(dtype)}", but the tensor is "${tensor.type}"`,
    );
  }
  const shape = [...tensor.dims];
  const length = storageLengthOf(dtype, numElements(shape));
  const source = tensor.data as ArrayBufferView;
  // A fresh view in this realm's typed array type: onnxruntime's arrays may come from another
  // realm, and float16 may arrive as a Float16Array where the runtime has one.
  const StorageType = allocateStorage(dtype, 0).constructor as {
    new (buffer: ArrayBufferLike, byteOffset: number, length: number): TensorData;
    readonly BYTES_PER_ELEMENT: number;
  };
  if (source.byteLength < length * StorageType.BYTES_PER_ELEMENT) {
    throw new InvalidArgumentError(
      'tensor',
      `holds ${source.byteLength} bytes, too few for ${dtype} [${shape.join(', ')}]`,
    );
  }
  return { dtype, shape, data: new StorageType(source.buffer, source.byteOffset, length) };
}
