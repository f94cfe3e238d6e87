import { loadCalibrationTexts } from '@ptq/calibration';

const { texts, source, description } = await loadCalibrationTexts('cnn_dailymail', {
  numSamples: 64,
  onNotice: (line) => console.error(line),
});
// ptq: cnn_dailymail not in the Hugging Face cache and the hub is unreachable; using the bundled sample of 250 real test-split articles
console.log(texts.length); // 64
console.log(source); // bundled
console.log(description); // bundled sample of 250 real test-split articles, field "article"
console.log(texts[0]!.slice(0, 60)); // (CNN)They may not be "Star Trek"-type extraterrestrials, but
