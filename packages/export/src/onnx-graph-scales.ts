import { open } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { type DecodedModel, type DecodedTensor, decodedToTensor } from '@ptq/onnx-format';
import { allocateStorage, numElements, type Tensor, toFloat32 } from '@ptq/tensor';
import { checkScaleValues } from './check-scale-values';
import { UnknownExportError } from './errors';
import type { ScaleKind } from './scale-statistics';

const QUANTIZED_CODE_DTYPES = new Set(['int8', 'uint8', 'int4', 'float8e4m3fn']);

/** What an ONNX export's graph says about its quantization. */
export interface OnnxGraphScales {
  /** Initializers that are scales, by kind. */
  readonly scaleNames: Map<string, ScaleKind>;
  /** Paths of the linears with quantized weights, in graph order. */
  readonly quantizedLayers: string[];
  /** Elements of each packed MatMulNBits weight (`K × N`), for float32 size. */
  readonly weightElements: Map<string, number>;
}

/** Finds the scales of an ONNX export from the nodes that consume them. */
export function analyzeOnnxGraph(
  model: DecodedModel,
  initializers: ReadonlyMap<string, DecodedTensor>,
): OnnxGraphScales {
  const quantizedLayers: string[] = [];
  const scaleNames = new Map<string, ScaleKind>();
  const weightElements = new Map<string, number>();

  for (const node of model.graph.nodes) {
    if (node.opType === 'MatMulNBits') {
      const attribute = (name: string) => node.attributes.find((entry) => entry.name === name);
      const k = attribute('K');
      const n = attribute('N');
      if (k?.type === 'int' && n?.type === 'int')
        weightElements.set(node.inputs[1] ?? '', Number(k.value * n.value));
      const scale = node.inputs[2] ?? '';
      scaleNames.set(scale, 'weight_scale');
      quantizedLayers.push(scale.replace(/\.weight_scale$/, ''));
    } else if (node.opType === 'DequantizeLinear') {
      const codes = initializers.get(node.inputs[0] ?? '');
      const scale = node.inputs[1] ?? '';
      if (codes !== undefined && QUANTIZED_CODE_DTYPES.has(codes.dtype)) {
        scaleNames.set(scale, 'weight_scale');
        quantizedLayers.push(scale.replace(/\.weight_scale$/, ''));
      } else if (codes === undefined && !scaleNames.has(scale)) {
        // Q → DQ on an activation.
        scaleNames.set(scale, 'input_scale');
      }
    } else if (node.opType === 'Mul') {
      for (const input of node.inputs)
        if (input.endsWith('.pre_quant_scale')) scaleNames.set(input, 'pre_quant_scale');
    }
  }
  return { scaleNames, quantizedLayers, weightElements };
}

/** An initializer's tensor, read from the model or from its external data file. */
export async function initializerTensor(modelPath: string, decoded: DecodedTensor): Promise<Tensor> {
  if (decoded.rawData !== undefined || decoded.externalData === undefined) return decodedToTensor(decoded);
  const { location, offset } = decoded.externalData;
  const storage = allocateStorage(decoded.dtype, numElements(decoded.shape));
  const bytes = new Uint8Array(storage.buffer, storage.byteOffset, storage.byteLength);
  const handle = await open(join(dirname(modelPath), location), 'r');
  try {
    const { bytesRead } = await handle.read(bytes, 0, bytes.byteLength, offset);
    if (bytesRead !== bytes.byteLength) {
      throw new UnknownExportError(
        join(dirname(modelPath), location),
        `ends before initializer "${decoded.name}" (${bytes.byteLength} bytes at offset ${offset})`,
      );
    }
  } finally {
    await handle.close();
  }
  return { dtype: decoded.dtype, shape: [...decoded.shape], data: storage };
}

/**
 * Checks one scale of an ONNX export (see `checkScaleValues`). A zero weight scale is what an
 * all-zero block gets; its packed codes are not checked here.
 */
export function checkOnnxScale(modelPath: string, name: string, kind: ScaleKind, values: Float32Array): void {
  checkScaleValues(modelPath, name, values, kind === 'weight_scale' ? () => true : undefined);
}

/** Checks every scale of a decoded ONNX export, reading external data where they are stored there. */
export async function checkOnnxScales(modelPath: string, model: DecodedModel): Promise<void> {
  const initializers = new Map(
    model.graph.initializers.map((initializer) => [initializer.name, initializer]),
  );
  const { scaleNames } = analyzeOnnxGraph(model, initializers);
  for (const initializer of model.graph.initializers) {
    const kind = scaleNames.get(initializer.name);
    if (kind !== undefined) {
      checkOnnxScale(
        modelPath,
        initializer.name,
        kind,
        toFloat32(await initializerTensor(modelPath, initializer)),
      );
    }
  }
}
