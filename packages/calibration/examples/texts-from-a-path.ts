import { loadCalibrationTexts } from '@ptq/calibration';

const local = await loadCalibrationTexts('./my-texts.jsonl', { onNotice: (line) => console.error(line) });
// ptq: using 2 calibration texts from ./my-texts.jsonl (field "text")
console.log(local);
// {
//   texts: [ 'The first calibration text.', 'The second one.' ],
//   source: 'local',
//   description: './my-texts.jsonl (field "text")'
// }
