import { SamVeteranError } from '../../errors/index.ts';

/**
 * A dataset file that cannot be used as it is: bad JSON, an unknown shape label, a polygon with
 * too few points, an RLE whose size does not fit the image, … The message starts with the file
 * (and line or record, when known) so the user can open it and fix it.
 */
export class DataFormatError extends SamVeteranError {
  override name = 'DataFormatError';
  /** The offending file, as given to the loader. */
  readonly file: string;
  constructor(file: string, problem: string, options?: { cause?: unknown }) {
    super('INVALID_ARGUMENT', `${file}: ${problem}`, options);
    this.file = file;
  }
}

/** Re-throws any error as a DataFormatError prefixed with `where` (keeps the original as cause). */
export function inFile<T>(file: string, where: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof DataFormatError) throw err;
    throw new DataFormatError(file, `${where}${where ? ': ' : ''}${(err as Error).message}`, { cause: err });
  }
}
