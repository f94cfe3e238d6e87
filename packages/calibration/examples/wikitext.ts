import { loadCalibrationTexts } from '@ptq/calibration';

const wikitext = await loadCalibrationTexts('wikitext');
console.log(wikitext.texts.length); // 2891
console.log(JSON.stringify(wikitext.texts[0])); // " = Robert Boulter = \n"
