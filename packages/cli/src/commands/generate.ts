import { UsageError } from '../cli-errors';
import { defineCommand } from '../command-definition';
import { deviceOption, engineOption, GLOBAL_OPTIONS } from '../options/common-options';
import {
  CALIBRATION_FLAGS,
  CALIBRATION_OPTIONS,
  dtypeOption,
  flagsGiven,
  modelNameForJson,
  modelOption,
  onTheFlyModeOption,
} from '../options/model-options';
import { valueOption, withDefault } from '../options/option-spec';
import {
  parseNonNegativeInteger,
  parseNonNegativeNumber,
  parsePositiveInteger,
  parseText,
} from '../options/parse-values';
import { formatSeconds, secondsSince } from '../output/format-values';

export const DEFAULT_INPUT_TEXT = 'It was a bright cold day in April, and';

export const GENERATE_OPTIONS = {
  model: modelOption,
  inputText: withDefault(valueOption('--input-text <text>', 'the prompt', parseText), DEFAULT_INPUT_TEXT),
  maxNewTokens: withDefault(
    valueOption('--max-new-tokens <n>', 'tokens to generate', parsePositiveInteger),
    32,
  ),
  temperature: withDefault(
    valueOption('--temperature <t>', 'sampling temperature; 0 is greedy', parseNonNegativeNumber),
    0,
  ),
  topK: valueOption('--top-k <k>', 'sample among the k most likely tokens only', parsePositiveInteger),
  seed: withDefault(valueOption('--seed <n>', 'seed of the sampler', parseNonNegativeInteger), 0),
  device: deviceOption,
  engine: engineOption,
  dtype: dtypeOption,
  mode: onTheFlyModeOption,
  ...CALIBRATION_OPTIONS,
  ...GLOBAL_OPTIONS,
} as const;

export const generateCommand = defineCommand({
  name: 'generate',
  summary: 'Generate text with a model, a ptq export, or a model quantized on the fly',
  arguments: [],
  options: GENERATE_OPTIONS,
  examples: [
    {
      description: 'greedy continuation with the bundled model',
      command: 'ptq generate --input-text "It was a bright cold day in April, and"',
    },
    {
      description: 'from a folder written by "ptq quantize", on the CPU',
      command: 'ptq generate --model gpt2-int8 --input-text "The old man said" --device cpu',
    },
    {
      description: 'quantize GPT-2 to int4 on the fly, then sample with a seed',
      command: 'ptq generate --model gpt2 --mode int4-weight-only --temperature 0.8 --top-k 40 --seed 7',
    },
  ],
  async run({ options, givenFlags }, context) {
    const started = performance.now();
    const { loadRuntimeModel } = await import('../model/load-runtime-model');
    const runtime = await loadRuntimeModel(
      { ...options, calibrationFlagsGiven: flagsGiven(givenFlags, CALIBRATION_FLAGS) },
      context,
    );
    try {
      const { tokenizer, compiled } = runtime;
      const promptTokens = Array.from(tokenizer.encode(options.inputText), Number);
      if (promptTokens.length + options.maxNewTokens > compiled.maxSequence) {
        throw new UsageError(
          `--max-new-tokens ${options.maxNewTokens} plus the prompt's ${promptTokens.length} tokens exceed the model's ${compiled.maxSequence} positions`,
        );
      }
      const { generate } = await import('@ptq/nanogpt');
      // The text is printed as it comes: each step decodes everything so far and prints what is new,
      // which keeps multi-token characters whole.
      let shown = '';
      const generated: number[] = [];
      const stream = !context.json;
      if (stream) context.stdout.write(options.inputText);
      const phaseStart = performance.now();
      const result = await generate(compiled, promptTokens, {
        maxNewTokens: options.maxNewTokens,
        temperature: options.temperature,
        topK: options.topK,
        seed: options.seed,
        onToken(tokens) {
          const token = tokens[0];
          if (token === undefined) return;
          generated.push(token);
          if (!stream) return;
          const text = tokenizer.decode(generated, { skip_special_tokens: true });
          if (text.startsWith(shown) && !text.endsWith('\uFFFD')) {
            context.stdout.write(text.slice(shown.length));
            shown = text;
          }
        },
      });
      const generateSeconds = secondsSince(phaseStart);
      const newTokens = result.newTokens[0] ?? [];
      const completion = tokenizer.decode(newTokens, { skip_special_tokens: true });
      if (stream) context.stdout.write(`${completion.slice(shown.length)}\n`);
      const { prefillMs, decodeMs, tokensPerSecond } = result.timings;
      context.status(
        `ptq: generate ${formatSeconds(generateSeconds)} (${newTokens.length} tokens, ${tokensPerSecond.toFixed(1)} tokens/s after the prompt)`,
      );
      return {
        command: 'generate',
        model: modelNameForJson(options.model),
        mode: runtime.mode ?? null,
        device: compiled.device,
        engine: compiled.engine,
        dtype: runtime.dtype,
        prompt: options.inputText,
        text: options.inputText + completion,
        completion,
        promptTokens,
        tokens: newTokens,
        ignoredFlags: runtime.ignoredFlags,
        timings: {
          ...runtime.timings,
          generateSeconds,
          prefillMs,
          decodeMs,
          tokensPerSecond,
          totalSeconds: secondsSince(started),
        },
      };
    } finally {
      await runtime.compiled.release();
    }
  },
});
