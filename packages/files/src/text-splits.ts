/** How a `.txt` file becomes texts: one text per line or per blank-line-separated paragraph (else the whole file is one). */
export const TEXT_SPLITS = Object.freeze(['lines', 'paragraphs'] as const);

export type TextSplit = (typeof TEXT_SPLITS)[number];
