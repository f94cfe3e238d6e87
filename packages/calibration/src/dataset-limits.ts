/**
 * One calibration text (a whole `.txt` file, a line, a paragraph, a JSONL record) may have at most this
 * many bytes: it is truncated to ~512 tokens anyway, and a file without line breaks must not grow a
 * string until V8 gives up.
 */
export const MAX_TEXT_BYTES = 64 * 1024 * 1024;

/**
 * A dataset file that is streamed (`.jsonl`, `.txt` cut into lines or paragraphs, `.parquet`) may be
 * at most this large. Reading stops at `numSamples` texts, so the cap only catches sizes no dataset
 * file has; memory stays bounded by `MAX_TEXT_BYTES` per text.
 */
export const MAX_DATASET_FILE_BYTES = 64 * 1024 * 1024 * 1024;
