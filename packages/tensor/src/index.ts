export {
  allocateStorage,
  byteLengthOf,
  createTensor,
  DTYPE_BITS,
  DTYPES,
  type DType,
  type DTypeStorage,
  numElements,
  storageLengthOf,
  type Tensor,
  type TensorData,
  tensorBytes,
} from './tensor';
