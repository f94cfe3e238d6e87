import { listRepoFiles } from '@ptq/hub';

const files = await listRepoFiles('abisee/cnn_dailymail', { repoType: 'dataset' });
console.log(files.filter((path) => /^3\.0\.0\/train-.*\.parquet$/.test(path)));
// [
//   '3.0.0/train-00000-of-00003.parquet',
//   '3.0.0/train-00001-of-00003.parquet',
//   '3.0.0/train-00002-of-00003.parquet'
// ]
