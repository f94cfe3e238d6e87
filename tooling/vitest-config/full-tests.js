// `pnpm test:full` sets PTQ_FULL_TESTS=1: the slowest end-to-end checks (every held-out token of the
// bundled model against the reference figures) run only then; `pnpm test` runs a cheaper form of
// each beside them.
export const FULL_TESTS = process.env.PTQ_FULL_TESTS === '1';
