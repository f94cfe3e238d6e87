import { DeviceUnavailableError } from '@ptq/onnx';
import { KernelDeviceError } from '../errors';

/** Names of software rasterizers in an adapter's info: fine for tests, never picked for speed. */
const SOFTWARE_ADAPTER = /llvmpipe|lavapipe|softpipe|swiftshader|software/i;

export interface KernelDevice {
  readonly device: GPUDevice;
  /** One line naming the adapter (its device and driver description). */
  readonly adapterName: string;
  /** Whether the adapter is a software rasterizer (Mesa's llvmpipe or lavapipe, SwiftShader). */
  readonly software: boolean;
}

export interface RequestKernelDeviceOptions {
  /**
   * Accept a software adapter (default false): tests run the kernels on Mesa's llvmpipe through
   * Dawn's OpenGL ES backend; speed never should.
   */
  readonly allowSoftwareAdapter?: boolean;
  /**
   * Ask for the `timestamp-query` feature, unquantized (benchmarks: GPU time per kernel). Uses a
   * Dawn instance of its own, so the default one keeps Dawn's default toggles.
   */
  readonly timestamps?: boolean;
  /**
   * Turn off Dawn's API validation and its shader bounds checks (robustness) on a hardware adapter,
   * for speed (default false). Software adapters — where the tests run — always keep both, so a
   * kernel that breaks a rule fails there with Dawn's message instead of reading out of bounds.
   */
  readonly skipChecks?: boolean;
}

interface DawnModule {
  create(options: string[]): GPU;
  globals: Record<string, unknown>;
}

let dawn: Promise<DawnModule> | undefined;
/**
 * One Dawn instance per backend for the life of the process: an instance collected by the garbage
 * collector while another is in use crashed the process (seen with the OpenGL ES backend).
 */
const instances = new Map<string, GPU>();

/** Dawn toggles for exact timestamps: Dawn rounds them to 100 µs by default. */
const TIMESTAMP_FLAGS = ['disable-dawn-features=timestamp_quantization'];
/** Dawn toggles that drop per-call validation and the bounds checks it adds to every shader. */
const SKIP_CHECK_FLAGS = ['enable-dawn-features=skip_validation,disable_robustness'];

interface InstanceKind {
  readonly backend: 'vulkan-or-metal' | 'opengles';
  readonly timestamps: boolean;
  readonly skipChecks: boolean;
}

function instanceFor(module: DawnModule, { backend, timestamps, skipChecks }: InstanceKind): GPU {
  const key = `${backend}${timestamps ? '+timestamps' : ''}${skipChecks ? '+unchecked' : ''}`;
  let gpu = instances.get(key);
  if (gpu === undefined) {
    gpu = module.create([
      ...(backend === 'opengles' ? ['backend=opengles'] : []),
      ...(timestamps ? TIMESTAMP_FLAGS : []),
      ...(skipChecks ? SKIP_CHECK_FLAGS : []),
    ]);
    instances.set(key, gpu);
  }
  return gpu;
}

/** Loads Dawn once and exposes its WebGPU globals (`GPUBufferUsage`, …) as the browser does. */
function loadDawn(): Promise<DawnModule> {
  dawn ??= import('webgpu').then((module) => {
    const loaded = module as unknown as DawnModule;
    for (const [name, value] of Object.entries(loaded.globals)) {
      if (!(name in globalThis)) (globalThis as Record<string, unknown>)[name] = value;
    }
    return loaded;
  });
  return dawn;
}

function describeAdapter(adapter: GPUAdapter): string {
  const { vendor, architecture, device, description } = adapter.info;
  return [vendor, architecture, device, description].filter((part) => part !== '').join(' ');
}

function isSoftware(adapter: GPUAdapter): boolean {
  return (
    (adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean }).isFallbackAdapter === true ||
    SOFTWARE_ADAPTER.test(describeAdapter(adapter))
  );
}

/** The limits the kernels need beyond compatibility mode's defaults, where the adapter has them. */
function wantedLimits(adapter: GPUAdapter): Record<string, number> {
  const { limits } = adapter;
  return {
    maxStorageBuffersPerShaderStage: Math.min(limits.maxStorageBuffersPerShaderStage, 10),
    maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
    maxBufferSize: limits.maxBufferSize,
    maxComputeWorkgroupStorageSize: limits.maxComputeWorkgroupStorageSize,
  };
}

async function adapterOn(module: DawnModule, kind: InstanceKind): Promise<GPUAdapter | undefined> {
  try {
    if (kind.backend === 'opengles') {
      // Mesa's EGL needs no display for compute with this platform; read when Dawn opens EGL.
      process.env.EGL_PLATFORM ??= 'surfaceless';
      const gpu = instanceFor(module, kind);
      return (await gpu.requestAdapter({ featureLevel: 'compatibility' })) ?? undefined;
    }
    const gpu = instanceFor(module, kind);
    return (await gpu.requestAdapter({ powerPreference: 'high-performance' })) ?? undefined;
  } catch {
    return undefined;
  }
}

/**
 * A Dawn device for the kernels engine: a hardware adapter through Vulkan (Metal on macOS), or, only
 * with `allowSoftwareAdapter`, a software one, trying Dawn's OpenGL ES backend on Mesa's llvmpipe
 * last. Throws `DeviceUnavailableError` when no acceptable adapter is found.
 */
export async function requestKernelDevice(options: RequestKernelDeviceOptions = {}): Promise<KernelDevice> {
  let module: DawnModule;
  try {
    module = await loadDawn();
  } catch (error) {
    throw new DeviceUnavailableError('kernels', `the webgpu package (Dawn) could not load`, { cause: error });
  }
  const allowSoftware = options.allowSoftwareAdapter ?? false;
  const skipped: string[] = [];
  const timestamps = options.timestamps ?? false;
  for (const backend of ['vulkan-or-metal', 'opengles'] as const) {
    if (backend === 'opengles' && !allowSoftware) break;
    // Toggles belong to a Dawn instance, so an unchecked device comes from an instance of its own;
    // the OpenGL ES backend only ever finds llvmpipe, so it is never unchecked.
    const skipChecks = options.skipChecks === true && backend === 'vulkan-or-metal';
    let adapter = await adapterOn(module, { backend, timestamps, skipChecks });
    if (adapter === undefined) continue;
    const software = isSoftware(adapter);
    if (software && !allowSoftware) {
      skipped.push(describeAdapter(adapter));
      continue;
    }
    if (software && skipChecks) {
      adapter = await adapterOn(module, { backend, timestamps, skipChecks: false });
      if (adapter === undefined) continue;
    }
    const requiredFeatures: GPUFeatureName[] =
      options.timestamps === true && adapter.features.has('timestamp-query') ? ['timestamp-query'] : [];
    const device = await adapter.requestDevice({ requiredLimits: wantedLimits(adapter), requiredFeatures });
    return { device, adapterName: describeAdapter(adapter), software };
  }
  const reason =
    skipped.length > 0
      ? `only a software adapter was found (${skipped.join('; ')}), which is not used for speed`
      : 'Dawn found no WebGPU adapter';
  throw new DeviceUnavailableError('kernels', reason);
}

/** Devices `sharedKernelDevice` keeps, by whether a software adapter was accepted. */
const sharedDevices = new Map<boolean, Promise<KernelDevice>>();

/**
 * A kernel device kept for the life of the process, as a CUDA context is: work after the first —
 * another calibration in the same process — opens no device (about 0.2 s on an H100's host) and,
 * where pipelines are cached per device, compiles no shader again. Its users destroy their buffers,
 * never the device. A lost device (or a failed request) is forgotten: the next call opens another.
 *
 * On a hardware adapter it skips Dawn's checks (`skipChecks`), as CUDA checks nothing per launch;
 * `PTQ_KERNELS_VALIDATION=1` in the environment keeps them, to chase a kernel bug on a GPU.
 */
export function sharedKernelDevice(
  options: Pick<RequestKernelDeviceOptions, 'allowSoftwareAdapter'> = {},
): Promise<KernelDevice> {
  const key = options.allowSoftwareAdapter ?? false;
  let shared = sharedDevices.get(key);
  if (shared === undefined) {
    shared = requestKernelDevice({
      allowSoftwareAdapter: key,
      skipChecks: process.env.PTQ_KERNELS_VALIDATION !== '1',
    });
    sharedDevices.set(key, shared);
    const forget = () => {
      if (sharedDevices.get(key) === shared) sharedDevices.delete(key);
    };
    shared.then(({ device }) => device.lost.then(forget), forget);
  }
  return shared;
}

/**
 * Collects the errors `device` reports that no error scope caught, from now until `check`: work that
 * runs many submissions (calibration) calls `check` at its end, which throws `KernelDeviceError`
 * when there were any, and stops collecting either way. Dawn reports a dropped submission only this
 * way; without a check, its results would be zeros read back as values. A device made with
 * `skipChecks` reports fewer errors (no validation).
 */
export function watchDeviceErrors(device: GPUDevice, work: string): { check(): void; stop(): void } {
  const messages: string[] = [];
  const onError = (event: Event) => messages.push((event as GPUUncapturedErrorEvent).error.message);
  device.addEventListener('uncapturederror', onError);
  const stop = () => device.removeEventListener('uncapturederror', onError);
  return {
    stop,
    check() {
      stop();
      if (messages.length > 0) throw new KernelDeviceError(work, messages);
    },
  };
}
