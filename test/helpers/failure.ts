import { SamVeteranError } from '../../core/errors/index.ts';

/** The SamVeteranError a promise rejects with; fails the test if it resolves or throws anything else. */
export async function failure(p: Promise<unknown>): Promise<SamVeteranError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof SamVeteranError) return err;
    throw err;
  }
  throw new Error('expected the call to fail');
}
