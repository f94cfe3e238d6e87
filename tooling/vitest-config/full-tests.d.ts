/** Whether the full-length checks run (`pnpm test:full`, which sets PTQ_FULL_TESTS=1). */
export declare const FULL_TESTS: boolean;
