import { defineCommand } from '../command-definition';
import { GLOBAL_OPTIONS } from '../options/common-options';
import { valueOption } from '../options/option-spec';
import { parseText } from '../options/parse-values';
import { formatBytes } from '../output/format-values';

export const INSPECT_OPTIONS = {
  modelFile: valueOption(
    '--model-file <path>',
    'which ONNX file of the folder, when it holds several (e.g. onnx/model_q4.onnx)',
    parseText,
  ),
  ...GLOBAL_OPTIONS,
} as const;

// Layers listed by name in text output; --json lists them all.
const LISTED_LAYERS = 6;

export const inspectCommand = defineCommand({
  name: 'inspect',
  summary: 'Check a folder and show its format, mode, quantized layers, scale statistics and size',
  arguments: [
    { name: 'dir', description: 'folder written by "ptq quantize" (or any Hugging Face GPT-2 folder)' },
  ],
  options: INSPECT_OPTIONS,
  examples: [
    { description: 'what "ptq quantize --out gpt2-int8" wrote', command: 'ptq inspect gpt2-int8' },
    {
      description: 'the same as one JSON object, every layer listed',
      command: 'ptq inspect gpt2-int8 --json',
    },
  ],
  async run({ arguments: [dir = ''], options }, context) {
    const { inspectExport } = await import('@ptq/export');
    const inspection = await inspectExport(
      dir,
      options.modelFile === undefined ? {} : { modelFile: options.modelFile },
    );
    const figures = await modelFigures(dir, inspection);
    const fp32Size = figures?.fp32Size ?? inspection.fp32Size;
    const format = figures?.format ?? inspection.format;
    const scaleStats = figures?.scaleStats ?? inspection.scaleStats;
    const ratio = fp32Size > 0 ? inspection.sizeOnDisk / fp32Size : Number.NaN;
    const layers = inspection.quantizedLayers;
    const shown =
      layers.length <= LISTED_LAYERS
        ? layers.join(', ')
        : `${layers.slice(0, LISTED_LAYERS - 2).join(', ')}, …, ${layers.slice(-2).join(', ')}`;
    const rows: [string, string][] = [
      ['folder', dir],
      ['format', format],
      [
        'mode',
        `${inspection.mode ?? 'unquantized'}${inspection.quantAlgo ? ` (${inspection.quantAlgo})` : ''}`,
      ],
      ['model file', inspection.modelFile],
      ['quantized layers', layers.length === 0 ? 'none' : `${layers.length}: ${shown}`],
    ];
    for (const [kind, statistics] of Object.entries(scaleStats)) {
      if (statistics === undefined) continue;
      rows.push([
        kind,
        `${statistics.count} values, min ${statistics.min.toPrecision(4)}, max ${statistics.max.toPrecision(4)}, mean ${statistics.mean.toPrecision(4)}`,
      ]);
    }
    rows.push([
      'size on disk',
      `${formatBytes(inspection.sizeOnDisk)} (float32 model: ${formatBytes(fp32Size)}, ${ratio.toFixed(2)}x)`,
    ]);
    const width = Math.max(...rows.map(([label]) => label.length));
    for (const [label, value] of rows) context.print(`${label.padEnd(width)}  ${value}`);
    return {
      command: 'inspect',
      ...inspection,
      format,
      scaleStats,
      fp32Size,
      ...(figures === undefined ? {} : { parameterCount: figures.parameterCount }),
      sizeRatio: ratio,
    };
  },
});

type Inspection = Awaited<ReturnType<typeof import('@ptq/export').inspectExport>>;

/**
 * What `inspect` reports where the export's own figures depend on the file's layout: the float32
 * size of the model (each parameter once, from its config), weight scales counted as ModelOpt
 * defines them, and a QDQ graph named `onnx-qdq`. Undefined when the folder has no readable config.
 */
async function modelFigures(dir: string, inspection: Inspection) {
  const { readGpt2Config } = await import('@ptq/hf-gpt2');
  const config = await readGpt2Config(dir).catch(() => undefined);
  if (config === undefined) return undefined;
  const { ONNX_SUBFOLDER, onnxModelFile } = await import('@ptq/export');
  const { gpt2ParameterCount, weightScaleCount } = await import('../model/model-figures');
  const qdqFile = `${ONNX_SUBFOLDER}/${onnxModelFile('onnx-qdq', undefined, 'float32').fileName}`;
  const parameterCount = gpt2ParameterCount(config, {
    headQuantized: inspection.quantizedLayers.includes('lm_head'),
  });
  const weightScales = inspection.scaleStats.weight_scale;
  const count =
    inspection.mode === undefined
      ? undefined
      : weightScaleCount(inspection.mode, inspection.quantizedLayers, config);
  return {
    parameterCount,
    fp32Size: parameterCount * 4,
    format: inspection.format === 'onnx' && inspection.modelFile === qdqFile ? 'onnx-qdq' : inspection.format,
    scaleStats:
      weightScales === undefined || count === undefined
        ? inspection.scaleStats
        : {
            ...inspection.scaleStats,
            weight_scale: { ...weightScales, count, storedValues: weightScales.count },
          },
  };
}
