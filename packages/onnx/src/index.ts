export {
  AUTO_DEVICE_ORDER,
  type CreateSessionOptions,
  createSession,
  cudaProviderInstalled,
  type Device,
  providerSettingsOf,
  type ResolvedDevice,
  resolveDevice,
  type SessionHandle,
} from './create-session';
export { DeviceTensorReader, MAX_READ_TENSORS } from './device-tensor-reader';
export { DeviceTensorUpload, MAX_UPLOAD_TENSORS } from './device-tensor-upload';
export { DeviceUnavailableError, OnnxSessionError } from './errors';
export {
  asOrtTensor,
  type FromOrtTensorOptions,
  fromOrtTensor,
  isOrtTensor,
  toOrtTensor,
} from './ort-tensor';
export {
  DTYPE_BY_ORT_TENSOR_TYPE,
  ORT_TENSOR_TYPES,
  type OrtTensorType,
  ortTypeOf,
} from './ort-tensor-types';
export { withUnpackedWeights } from './unpacked-weights';
export { vulkanLoaderPresent } from './vulkan-loader';
