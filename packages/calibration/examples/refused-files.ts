import { loadCalibrationTexts } from '@ptq/calibration';

const report = (error: unknown) => console.log(String(error));

await loadCalibrationTexts('./pipe.txt').catch(report);
// NotARegularFileError: ./pipe.txt: is a FIFO, not a regular file
await loadCalibrationTexts('./zero.txt').catch(report); // a link to /dev/zero
// NotARegularFileError: ./zero.txt: is a character device, not a regular file
await loadCalibrationTexts('./news.txt').catch(report); // "München\n" in Latin-1
// TextEncodingError: ./news.txt: is not valid utf-8: bad byte sequence at byte offset 1 (pass the file’s encoding, e.g. latin1, to read it)
console.log((await loadCalibrationTexts('./news.txt', { encoding: 'latin1' })).texts); // [ 'München\n' ]
await loadCalibrationTexts('./notes.jsonl').catch(report); // line 2 is {"text":"café"} with é in Latin-1
// TextEncodingError: ./notes.jsonl:2: is not valid utf-8: bad byte sequence at byte offset 28 (pass the file’s encoding, e.g. latin1, to read it)
