/**
 * The image store on a directory (a local disk, an NFS/PVC mount): key → file under the root, the
 * key read as a relative POSIX path. A key that leaves the root — `..` segments, an absolute path,
 * or a symlink inside the root that points outside it — is refused, so a caller can only read files
 * the operator put under the root.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, realpath, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ResourceExhaustedError, SamVeteranError, ValidationError } from '../../../core/errors/index.ts';
import { sha256Hex, type ImageStore, type ImageStoreGetOptions, type StoredImage } from './image-resolver.ts';

export class DirectoryImageStore implements ImageStore {
  readonly location: string;

  private constructor(
    /** Absolute, symlink-free path of the root directory. */
    readonly root: string,
  ) {
    this.location = pathToFileURL(root).href;
  }

  /**
   * Opens an existing directory.
   * @throws ValidationError naming `field` when `dir` is not an existing directory.
   */
  static async open(dir: string, field = 'dir'): Promise<DirectoryImageStore> {
    let root: string;
    try {
      root = await realpath(resolve(dir));
      if (!(await stat(root)).isDirectory())
        throw new ValidationError(field, dir, 'is not a directory; point the image store at a directory');
    } catch (e) {
      if (e instanceof ValidationError) throw e;
      throw new ValidationError(
        field,
        dir,
        `cannot be opened as the image store directory: ${(e as Error).message}`,
        { cause: e },
      );
    }
    return new DirectoryImageStore(root);
  }

  /**
   * The file `key` names under the root.
   * @throws ValidationError naming `field` when the key is empty, absolute, or leaves the root.
   */
  pathOf(key: string, field = 'storeKey'): string {
    if (key.length === 0)
      throw new ValidationError(field, key, 'is empty; name a file under the image store root');
    if (key.includes('\0')) throw new ValidationError(field, key, 'contains a NUL byte');
    if (isAbsolute(key)) {
      throw new ValidationError(
        field,
        key,
        `is an absolute path; keys are paths relative to the image store root ${this.root}`,
      );
    }
    const file = resolve(this.root, key);
    if (file === this.root)
      throw new ValidationError(field, key, `names the image store root ${this.root} itself, not a file`);
    if (!this.inside(file)) {
      throw new ValidationError(
        field,
        key,
        `escapes the image store root ${this.root}; keys must stay under it (no ".." segments)`,
      );
    }
    return file;
  }

  async get(key: string, options: ImageStoreGetOptions = {}): Promise<Uint8Array | undefined> {
    const field = options.field ?? 'storeKey';
    const file = this.pathOf(key, field);
    let real: string;
    try {
      real = await realpath(file);
    } catch (e) {
      if (isMissing(e)) return undefined;
      throw readFailure(key, this.location, e);
    }
    if (!this.inside(real)) {
      throw new ValidationError(
        field,
        key,
        `resolves through a symlink to ${real}, outside the image store root ${this.root}`,
      );
    }
    try {
      const st = await stat(real);
      if (!st.isFile())
        throw new ValidationError(field, key, `names a directory in ${this.location}, not a file`);
      if (options.maxBytes !== undefined && st.size > options.maxBytes) {
        throw new ResourceExhaustedError(
          field,
          key,
          `is ${st.size} bytes in the image store ${this.location}, over the limit of ${options.maxBytes} bytes`,
        );
      }
      return new Uint8Array(await readFile(real));
    } catch (e) {
      if (e instanceof SamVeteranError) throw e;
      if (isMissing(e)) return undefined;
      throw readFailure(key, this.location, e);
    }
  }

  /**
   * Writes encoded PNG/JPEG bytes to the key's file (parent directories created; written to a
   * temporary file and renamed, so readers never see a partial image) and returns the reference.
   */
  async put(key: string, encodedBytes: Uint8Array): Promise<StoredImage> {
    const file = this.pathOf(key, 'key');
    const tmp = `${file}.tmp-${process.pid}-${randomUUID().slice(0, 8)}`;
    try {
      await mkdir(dirname(file), { recursive: true });
      await writeFile(tmp, encodedBytes);
      await rename(tmp, file);
    } catch (e) {
      await rm(tmp, { force: true }).catch(() => undefined);
      throw new SamVeteranError(
        'INTERNAL',
        `image store ${this.location} could not write ${JSON.stringify(key)}: ${(e as Error).message}`,
        {
          cause: e,
        },
      );
    }
    return { key, digest: sha256Hex(encodedBytes), size: encodedBytes.byteLength };
  }

  /** Nothing to release; present for symmetry with the NATS store. */
  async close(): Promise<void> {}

  private inside(abs: string): boolean {
    const rel = relative(this.root, abs);
    return rel !== '' && rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
  }
}

function isMissing(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

function readFailure(key: string, location: string, e: unknown): SamVeteranError {
  return new SamVeteranError(
    'INTERNAL',
    `image store ${location} could not read ${JSON.stringify(key)}: ${(e as Error).message}`,
    { cause: e },
  );
}
