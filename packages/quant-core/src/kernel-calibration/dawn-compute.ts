import { DeviceUnavailableError } from '@ptq/onnx';
// The WebGPU types (GPUDevice, GPUBuffer, …), as Dawn's package declares them.
import type {} from 'webgpu';

// GPUBufferUsage / GPUMapMode flags, usable before Dawn has put its globals in place.
const MAP_READ = 0x01;
const COPY_SRC = 0x04;
const COPY_DST = 0x08;
const UNIFORM = 0x40;
const STORAGE = 0x80;

/** Float32 values of a buffer to read back: `floats` of them from `offset` bytes (default 0). */
export interface ReadRegion {
  readonly buffer: GPUBuffer;
  readonly floats: number;
  readonly offset?: number;
  /** Where the values go (at least `floats` long): one copy instead of two for a large read. */
  readonly into?: Float32Array;
}

/**
 * Buffers, cached pipelines and batched dispatches on one Dawn device: kernel calibration records
 * many dispatches and submits them together, so a block's work costs one submission instead of one
 * per kernel. Pipelines are created asynchronously as dispatches first name them and encoding waits
 * for them at submission, so the first block's shaders compile side by side instead of one after
 * another. Every buffer it makes is destroyed by `destroy`.
 */
export class DawnCompute {
  readonly #device: GPUDevice;
  readonly #pipelines = new Map<string, Promise<GPUComputePipeline>>();
  readonly #buffers = new Set<GPUBuffer>();
  /** Uniform buffers of submitted dispatches, freed once their submission is done. */
  #uniforms: GPUBuffer[] = [];
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
  #recorded: (
    | {
        readonly pipeline: Promise<GPUComputePipeline>;
        readonly encode: (
          pass: GPUComputePassEncoder,
          pipeline: GPUComputePipeline,
          uniforms: GPUBuffer | undefined,
        ) => void;
      }
    | { readonly pipeline?: undefined; readonly encode: (encoder: GPUCommandEncoder) => void }
  )[] = [];

  constructor(device: GPUDevice) {
    this.#device = device;
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

  /** A storage buffer holding `data` (written at once, before anything submitted later runs). */
  upload(data: Float32Array | Uint32Array, what: string): GPUBuffer {
    const buffer = this.buffer(data.byteLength, what);
    this.write(buffer, 0, data);
    return buffer;
  }

  /**
   * Writes `data` into `buffer` at `offset` bytes at once: ahead of every dispatch submitted later,
   * including ones recorded before this call, so only into buffers no recorded dispatch uses.
   */
  write(buffer: GPUBuffer, offset: number, data: Float32Array | Uint32Array): void {
    this.#device.queue.writeBuffer(buffer, offset, data.buffer, data.byteOffset, data.byteLength);
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
    this.#releaseUniforms(this.#uniforms.length);
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
    const starts: number[] = [];
    let bytes = 0;
    for (const { floats } of regions) {
      starts.push(bytes);
      bytes += 4 * floats;
    }
    const size = Math.max(16, bytes);
    const staging = this.#device.createBuffer({ size, usage: MAP_READ | COPY_DST });
    try {
      for (const [index, { buffer, floats, offset = 0 }] of regions.entries()) {
        this.#recorded.push({
          encode: (encoder) =>
            encoder.copyBufferToBuffer(buffer, offset, staging, starts[index]!, 4 * floats),
        });
      }
      await this.flush();
      const submitted = this.#uniforms.length;
      // Asked for before `afterSubmit` submits more: both wait for what is submitted now, not for that.
      const done =
        regions.length === 0 ? this.#device.queue.onSubmittedWorkDone() : staging.mapAsync(MAP_READ, 0, size);
      afterSubmit?.();
      await done;
      this.#releaseUniforms(submitted);
      if (regions.length === 0) return [];
      const mapped = staging.getMappedRange(0, size);
      return regions.map(({ floats, into }, index) => {
        const values = new Float32Array(mapped, starts[index]!, floats);
        if (into === undefined) return values.slice();
        into.set(values);
        return into;
      });
    } finally {
      staging.destroy();
    }
  }

  /** Destroys the first `count` uniform buffers: those of submissions the device has finished. */
  #releaseUniforms(count: number): void {
    for (const buffer of this.#uniforms.splice(0, count)) buffer.destroy();
  }

  destroy(): void {
    for (const buffer of [...this.#buffers, ...this.#uniforms]) buffer.destroy();
    this.#buffers.clear();
    this.#uniforms = [];
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
      this.#uniforms.push(uniforms);
      this.#uniformLength = 0;
    }
    if (recorded.length === 0) return;
    const pipelines = await Promise.all(recorded.map((entry) => entry.pipeline));
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
