import { DeviceUnavailableError } from '@ptq/onnx';
// The WebGPU types (GPUDevice, GPUBuffer, …), as Dawn's package declares them.
import type {} from 'webgpu';

// GPUBufferUsage / GPUMapMode flags, usable before Dawn has put its globals in place.
const MAP_READ = 0x01;
const MAP_WRITE = 0x02;
const COPY_SRC = 0x04;
const COPY_DST = 0x08;
const UNIFORM = 0x40;
const STORAGE = 0x80;

/**
 * Bytes of a staging buffer for writes, at least: writes share one until it is full. Staging buffers
 * are kept and mapped again once their copies are done, because fresh mapped memory is what costs:
 * on an H100's host `queue.writeBuffer` moved 16 MB in about 17 ms, a reused staging buffer in 2.
 */
const UPLOAD_STAGING_BYTES = 32 * 1024 * 1024;

/** A mapped staging buffer for writes, filled from `used` bytes on. */
interface UploadStaging {
  readonly buffer: GPUBuffer;
  readonly mapped: ArrayBuffer;
  used: number;
}

/**
 * Compiled pipelines by device and shader code, for every `DawnCompute` on that device: a device kept
 * for the process (`sharedKernelDevice`) compiles each shader once, not once per calibration.
 */
const devicePipelines = new WeakMap<GPUDevice, Map<string, Promise<GPUComputePipeline>>>();

/** Float32 values of a buffer to read back: `floats` of them from `offset` bytes (default 0). */
export interface ReadRegion {
  readonly buffer: GPUBuffer;
  readonly floats: number;
  readonly offset?: number;
  /** Where the values go (at least `floats` long): one copy instead of two for a large read. */
  readonly into?: Float32Array;
}

/** A dispatch (encoded in a compute pass once its pipeline exists) or a copy between passes. */
type RecordedWork =
  | {
      readonly pipeline: Promise<GPUComputePipeline>;
      readonly encode: (
        pass: GPUComputePassEncoder,
        pipeline: GPUComputePipeline,
        uniforms: GPUBuffer | undefined,
      ) => void;
    }
  | { readonly pipeline?: undefined; readonly encode: (encoder: GPUCommandEncoder) => void };

/**
 * Buffers, cached pipelines and batched dispatches on one Dawn device: kernel calibration records
 * many dispatches and submits them together, so a block's work costs one submission instead of one
 * per kernel. Pipelines are created asynchronously as dispatches first name them and encoding waits
 * for them at submission, so the first block's shaders compile side by side instead of one after
 * another, once per device. Every buffer it makes is destroyed by `destroy`; the device is not.
 */
export class DawnCompute {
  readonly #device: GPUDevice;
  readonly #pipelines: Map<string, Promise<GPUComputePipeline>>;
  readonly #buffers = new Set<GPUBuffer>();
  /**
   * Uniform buffers of recorded work not submitted yet. Each is destroyed as soon as its own
   * submission is made (Dawn frees it once the device is done with it): counting them per read, as
   * this once did, destroyed a later submission's uniforms while it waited for its shader.
   */
  readonly #pendingUniforms = new Set<GPUBuffer>();
  /**
   * The recorded dispatches' uniforms, each at an offset the adapter allows a binding to start at:
   * one uniform buffer per submission instead of one created for every dispatch (about 100 µs of
   * host time each on an H100's driver, more than most of calibration's dispatches take to run).
   */
  #uniformBytes = new Uint8Array(64 * 1024);
  #uniformLength = 0;
  /**
   * What was recorded since the last submission, encoded in order once the pipelines exist:
   * dispatches, which share compute passes, and copies between them.
   */
  #recorded: RecordedWork[] = [];

  /** Every staging buffer for writes, to destroy. */
  readonly #staging = new Set<GPUBuffer>();
  /** Staging buffers mapped again after their copies, ready to be filled. */
  #readyStaging: GPUBuffer[] = [];
  /** The staging buffer being filled, and those filled before it, for the next submission. */
  #filling: UploadStaging | undefined;
  #filled: UploadStaging[] = [];
  /** Staging buffers for reads, unmapped, kept for the next read. */
  #readStaging: GPUBuffer[] = [];
  /** The last submission, once it is made: the next one waits for it. */
  #submitting: Promise<void> = Promise.resolve();
  /** Staging buffers for reads whose values are not all taken yet (`mapMany`). */
  readonly #mappedStaging = new Set<GPUBuffer>();

  constructor(device: GPUDevice) {
    this.#device = device;
    let pipelines = devicePipelines.get(device);
    if (pipelines === undefined) {
      pipelines = new Map();
      devicePipelines.set(device, pipelines);
    }
    this.#pipelines = pipelines;
  }

  get limits(): GPUSupportedLimits {
    return this.#device.limits;
  }

  /** A storage buffer of `bytes` (zeroed, as WebGPU makes every buffer). */
  buffer(bytes: number, what: string): GPUBuffer {
    const limit = Math.min(
      this.#device.limits.maxBufferSize,
      this.#device.limits.maxStorageBufferBindingSize,
    );
    if (bytes > limit) {
      throw new DeviceUnavailableError(
        'kernels',
        `${what} needs a buffer of ${bytes} bytes, over the adapter's limit of ${limit}`,
      );
    }
    const buffer = this.#device.createBuffer({
      size: Math.max(16, Math.ceil(bytes / 16) * 16),
      usage: STORAGE | COPY_SRC | COPY_DST,
    });
    this.#buffers.add(buffer);
    return buffer;
  }

  /** A storage buffer holding `data` (a write recorded in order with the dispatches). */
  upload(data: Float32Array | Uint32Array, what: string): GPUBuffer {
    const buffer = this.buffer(data.byteLength, what);
    this.write(buffer, 0, data);
    return buffer;
  }

  /**
   * Records a write of `data` into `buffer` at `offset` bytes, in order with the recorded dispatches:
   * the data are copied into a staging buffer now, and from there into `buffer` when the device gets
   * to it.
   */
  write(buffer: GPUBuffer, offset: number, data: Float32Array | Uint32Array): void {
    const bytes = data.byteLength;
    this.#recordStagedWrite(buffer, offset, bytes, (mapped, at) =>
      new Uint8Array(mapped, at, bytes).set(new Uint8Array(data.buffer, data.byteOffset, bytes)),
    );
  }

  /**
   * Records a write of `floats` float32 values into `buffer` at `offset` bytes, as `write` does, that
   * `fill` computes straight into the staging memory: no array of the values on the host.
   */
  writeWith(buffer: GPUBuffer, offset: number, floats: number, fill: (target: Float32Array) => void): void {
    this.#recordStagedWrite(buffer, offset, 4 * floats, (mapped, at) =>
      fill(new Float32Array(mapped, at, floats)),
    );
  }

  /** Reserves `bytes` of staging, lets `fill` write them, and records their copy into `buffer`. */
  #recordStagedWrite(
    buffer: GPUBuffer,
    offset: number,
    bytes: number,
    fill: (mapped: ArrayBuffer, at: number) => void,
  ): void {
    if (bytes === 0) return;
    const staging = this.#stagingFor(bytes);
    const at = staging.used;
    fill(staging.mapped, at);
    staging.used += Math.ceil(bytes / 4) * 4;
    this.#recorded.push({
      encode: (encoder) => encoder.copyBufferToBuffer(staging.buffer, at, buffer, offset, bytes),
    });
  }

  /** The staging buffer being filled, or another mapped one, with room for `bytes`. */
  #stagingFor(bytes: number): UploadStaging {
    const filling = this.#filling;
    if (filling !== undefined && filling.used + bytes <= filling.buffer.size) return filling;
    if (filling !== undefined) this.#filled.push(filling);
    const buffer =
      takeSmallest(this.#readyStaging, bytes) ??
      this.#device.createBuffer({
        size: Math.max(UPLOAD_STAGING_BYTES, Math.ceil(bytes / 4) * 4),
        usage: MAP_WRITE | COPY_SRC,
        mappedAtCreation: true,
      });
    this.#staging.add(buffer);
    this.#filling = { buffer, mapped: buffer.getMappedRange(), used: 0 };
    return this.#filling;
  }

  release(buffer: GPUBuffer | undefined): void {
    if (buffer === undefined || !this.#buffers.delete(buffer)) return;
    buffer.destroy();
  }

  /**
   * Records one dispatch of `code` (entry point `main`): binding 0 is a uniform holding `uniform`
   * when given, then `bindings` from 1 (or from 0 without a uniform).
   */
  dispatch(
    code: string,
    uniform: ArrayBuffer | undefined,
    bindings: readonly GPUBuffer[],
    workgroups: readonly [number, number?, number?],
  ): void {
    const [x, y = 1, z = 1] = workgroups;
    const limit = this.#device.limits.maxComputeWorkgroupsPerDimension;
    if (x > limit || y > limit || z > limit) {
      throw new DeviceUnavailableError(
        'kernels',
        `a dispatch of ${x} × ${y} × ${z} workgroups exceeds the adapter's ${limit} per dimension`,
      );
    }
    const pipeline = this.#pipeline(code);
    const uniformAt = uniform === undefined ? undefined : this.#stageUniform(uniform);
    const first = uniformAt === undefined ? 0 : 1;
    this.#recorded.push({
      pipeline,
      encode: (pass, resolved, uniforms) => {
        if (x === 0 || y === 0 || z === 0) return;
        const entries: GPUBindGroupEntry[] = bindings.map((buffer, index) => ({
          binding: first + index,
          resource: { buffer },
        }));
        if (uniformAt !== undefined) {
          entries.unshift({ binding: 0, resource: { buffer: uniforms!, ...uniformAt } });
        }
        pass.setPipeline(resolved);
        pass.setBindGroup(
          0,
          this.#device.createBindGroup({ layout: resolved.getBindGroupLayout(0), entries }),
        );
        pass.dispatchWorkgroups(x, y, z);
      },
    });
  }

  /** Copies `uniform` into the submission's uniform bytes; where its binding starts and how long it is. */
  #stageUniform(uniform: ArrayBuffer): { offset: number; size: number } {
    const alignment = this.#device.limits.minUniformBufferOffsetAlignment;
    const offset = Math.ceil(this.#uniformLength / alignment) * alignment;
    const size = Math.max(16, Math.ceil(uniform.byteLength / 16) * 16);
    if (offset + size > this.#uniformBytes.length) {
      const grown = new Uint8Array(Math.max(2 * this.#uniformBytes.length, offset + size));
      grown.set(this.#uniformBytes.subarray(0, this.#uniformLength));
      this.#uniformBytes = grown;
    }
    this.#uniformBytes.fill(0, this.#uniformLength, offset + size);
    this.#uniformBytes.set(new Uint8Array(uniform), offset);
    this.#uniformLength = offset + size;
    return { offset, size };
  }

  /** Submits what was recorded and waits for the device to finish it. */
  async submit(): Promise<void> {
    await this.flush();
    await this.#device.queue.onSubmittedWorkDone();
  }

  /**
   * Submits what was recorded without waiting for the device: work recorded next (a later block) can
   * be submitted behind it while the host does something else.
   */
  async flush(): Promise<void> {
    await this.#encode();
  }

  /** Records a clear of `buffer` to zeros, in order with the recorded dispatches. */
  clear(buffer: GPUBuffer): void {
    this.#recorded.push({ encode: (encoder) => encoder.clearBuffer(buffer) });
  }

  /** Submits what was recorded, then reads `floats` float32 values of `buffer` from `offset` bytes. */
  async read(buffer: GPUBuffer, floats: number, offset = 0): Promise<Float32Array> {
    const [values] = await this.readMany([{ buffer, floats, offset }]);
    return values!;
  }

  /**
   * Submits what was recorded, then reads every region through one staging buffer: one wait for
   * the device however many regions, where a read each would wait once each. `afterSubmit` runs
   * once the reads are submitted and before they are waited for: what it records and flushes runs
   * on the device behind them, while the host waits.
   */
  async readMany(regions: readonly ReadRegion[], afterSubmit?: () => void): Promise<Float32Array[]> {
    const mapped = await this.mapMany(regions, afterSubmit);
    return mapped.take(0, regions.length);
  }

  /**
   * `readMany`, with the values left in the mapped staging buffer until `take` copies them out (and
   * `take` of the last region gives the staging buffer back): the host copies a large read when it
   * has nothing better to do — while the device runs work submitted after it.
   */
  async mapMany(regions: readonly ReadRegion[], afterSubmit?: () => void): Promise<MappedRegions> {
    const starts: number[] = [];
    let bytes = 0;
    for (const { floats } of regions) {
      starts.push(bytes);
      bytes += 4 * floats;
    }
    const size = Math.max(16, bytes);
    // A staging buffer of an earlier read when one is large enough: its memory is mapped already.
    const staging =
      takeSmallest(this.#readStaging, size) ??
      this.#device.createBuffer({ size, usage: MAP_READ | COPY_DST });
    this.#mappedStaging.add(staging);
    try {
      for (const [index, { buffer, floats, offset = 0 }] of regions.entries()) {
        this.#recorded.push({
          encode: (encoder) =>
            encoder.copyBufferToBuffer(buffer, offset, staging, starts[index]!, 4 * floats),
        });
      }
      await this.flush();
      // Asked for before `afterSubmit` submits more: both wait for what is submitted now, not for that.
      const done =
        regions.length === 0 ? this.#device.queue.onSubmittedWorkDone() : staging.mapAsync(MAP_READ, 0, size);
      afterSubmit?.();
      await done;
    } catch (error) {
      this.#mappedStaging.delete(staging);
      staging.destroy();
      throw error;
    }
    if (regions.length === 0) {
      this.#mappedStaging.delete(staging);
      this.#readStaging.push(staging);
      return { take: () => [] };
    }
    const mapped = staging.getMappedRange(0, size);
    let left = regions.length;
    return {
      take: (first, end) => {
        const values = regions.slice(first, end).map(({ floats, into }, index) => {
          const read = new Float32Array(mapped, starts[first + index]!, floats);
          if (into === undefined) return read.slice();
          into.set(read);
          return into;
        });
        if (values.length === 0) return values;
        left -= values.length;
        // Given back once, by the take of the last values: the buffer may serve another read after.
        if (left === 0 && this.#mappedStaging.delete(staging)) {
          staging.unmap();
          this.#readStaging.push(staging);
        }
        return values;
      },
    };
  }

  destroy(): void {
    for (const buffer of [
      ...this.#buffers,
      ...this.#pendingUniforms,
      ...this.#staging,
      ...this.#readStaging,
      ...this.#mappedStaging,
    ]) {
      buffer.destroy();
    }
    this.#mappedStaging.clear();
    this.#buffers.clear();
    this.#pendingUniforms.clear();
    this.#staging.clear();
    this.#readyStaging = [];
    this.#filling = undefined;
    this.#filled = [];
    this.#readStaging = [];
    this.#recorded = [];
    this.#uniformLength = 0;
  }

  /**
   * Encodes and submits what was recorded, once every pipeline it names exists: consecutive
   * dispatches in one compute pass (WebGPU orders each dispatch's writes before the next one's
   * reads), their uniforms in one buffer.
   */
  async #encode(): Promise<void> {
    const recorded = this.#recorded;
    this.#recorded = [];
    // Written into the device's buffer before anything awaits: dispatches recorded meanwhile stage
    // their uniforms for the next submission in the same host bytes.
    let uniforms: GPUBuffer | undefined;
    if (this.#uniformLength > 0) {
      uniforms = this.#device.createBuffer({
        size: this.#uniformLength,
        usage: UNIFORM,
        mappedAtCreation: true,
      });
      new Uint8Array(uniforms.getMappedRange()).set(this.#uniformBytes.subarray(0, this.#uniformLength));
      uniforms.unmap();
      this.#pendingUniforms.add(uniforms);
      this.#uniformLength = 0;
    }
    // The staging buffers this submission copies from: unmapped for it, mapped again once it is done.
    const staged = [...this.#filled, ...(this.#filling ? [this.#filling] : [])].map(({ buffer }) => buffer);
    this.#filled = [];
    this.#filling = undefined;
    for (const buffer of staged) buffer.unmap();
    if (recorded.length === 0) return;
    // Submitted in the order recorded: a submission waiting for a shader to compile holds back those
    // recorded after it, whose pipelines may be ready first.
    const previous = this.#submitting;
    const submission = this.#submit(recorded, uniforms, staged, previous);
    this.#submitting = submission.catch(() => {});
    await submission;
  }

  async #submit(
    recorded: readonly RecordedWork[],
    uniforms: GPUBuffer | undefined,
    staged: readonly GPUBuffer[],
    previous: Promise<void>,
  ): Promise<void> {
    try {
      const pipelines = await Promise.all(recorded.map((entry) => entry.pipeline));
      await previous;
      const encoder = this.#device.createCommandEncoder();
      let pass: GPUComputePassEncoder | undefined;
      for (const [index, entry] of recorded.entries()) {
        if (entry.pipeline === undefined) {
          pass?.end();
          pass = undefined;
          entry.encode(encoder);
        } else {
          pass ??= encoder.beginComputePass();
          entry.encode(pass, pipelines[index]!, uniforms);
        }
      }
      pass?.end();
      this.#device.queue.submit([encoder.finish()]);
    } finally {
      // Submitted (or never to be): Dawn keeps a destroyed buffer until the device is done with it.
      if (uniforms !== undefined && this.#pendingUniforms.delete(uniforms)) uniforms.destroy();
    }
    for (const buffer of staged) {
      buffer.mapAsync(MAP_WRITE).then(
        () => this.#readyStaging.push(buffer),
        // Destroyed meanwhile (`destroy`), or the device lost: nothing to reuse.
        () => this.#staging.delete(buffer),
      );
    }
  }

  #pipeline(code: string): Promise<GPUComputePipeline> {
    let pipeline = this.#pipelines.get(code);
    if (pipeline === undefined) {
      pipeline = this.#device.createComputePipelineAsync({
        layout: 'auto',
        compute: { module: this.#device.createShaderModule({ code }), entryPoint: 'main' },
      });
      this.#pipelines.set(code, pipeline);
    }
    return pipeline;
  }
}

/** Values of a read still in its mapped staging buffer (`DawnCompute.mapMany`). */
export interface MappedRegions {
  /**
   * The values of regions `first` to `end` (exclusive), copied out of the staging buffer (or into
   * their `into` arrays): each region is taken once.
   */
  take(first: number, end: number): Float32Array[];
}

/** Removes and returns the smallest buffer of `buffers` that holds `bytes`, if there is one. */
function takeSmallest(buffers: GPUBuffer[], bytes: number): GPUBuffer | undefined {
  let best = -1;
  for (const [index, buffer] of buffers.entries()) {
    if (buffer.size >= bytes && (best < 0 || buffer.size < buffers[best]!.size)) best = index;
  }
  return best < 0 ? undefined : buffers.splice(best, 1)[0];
}
