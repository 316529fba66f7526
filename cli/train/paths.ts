import { fileURLToPath } from 'node:url';

/** The shipped warm-start checkpoint (rebuilt by `npm run pretrain`; see README). */
export const DEFAULT_WARM_START = fileURLToPath(
  new URL('../../artifacts/policy/warm-start.samv', import.meta.url),
);
