/**
 * One safetensors file opened lazily: the header is read and validated on open, each tensor is read on demand with
 * positioned reads on the open descriptor. Nothing reads the whole file, so checkpoints above Node's 2 GiB
 * `readFileSync` limit open like small ones, and a loader reads only the tensors it asks for.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { BadInputError, MissingAssetError } from '../errors.js';
import { assertReadable, decodeTensorBytes } from './safetensors-decode.js';
import { headerLength, invalid, parseHeader, type TensorEntry } from './safetensors-header.js';
import type { TensorData, TensorInfo, WeightView } from './weight-view.js';

// safetensors data is little-endian and is viewed in place as typed arrays
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** opens `path`, reading and validating its header only */
export function openSafetensors(path: string): WeightView {
  if (!LITTLE_ENDIAN) throw new BadInputError('WEIGHTS_UNSUPPORTED', `${path}: safetensors is read only on little-endian machines`);
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw ioError(path, e);
  }
  try {
    const size = fstatSync(fd).size;
    const first8 = new Uint8Array(Math.min(8, size)); // a shorter file is refused by headerLength
    readFully(fd, first8, 0, path, 'the header length');
    const n = headerLength(first8, size, path);
    const json = new Uint8Array(n);
    readFully(fd, json, 8, path, 'the header');
    const header = parseHeader(json, size, path);
    return new SafetensorsFile(path, fd, header.entries, header.metadata);
  } catch (e) {
    closeSync(fd);
    throw e;
  }
}

class SafetensorsFile implements WeightView {
  readonly files: readonly string[];
  private open = true;

  constructor(
    private readonly path: string,
    private readonly fd: number,
    private readonly entries: Map<string, TensorEntry>,
    readonly metadata: Readonly<Record<string, string>>,
  ) {
    this.files = [path];
  }

  names(): string[] {
    return [...this.entries.keys()].sort();
  }

  info(name: string): TensorInfo | undefined {
    const e = this.entries.get(name);
    return e === undefined ? undefined : { name, dtype: e.dtype, shape: [...e.shape], file: this.path };
  }

  read(name: string): TensorData {
    const e = this.entries.get(name);
    if (e === undefined) throw new BadInputError('WEIGHTS_MISMATCH', `${this.path}: no tensor ${name}`, 'the file does not hold the weights asked for: check the checkpoint against its config');
    if (!this.open) throw new Error(`${this.path}: read ${name} after close`); // a bug, not an input
    assertReadable(e, this.path);
    // a fresh buffer at offset 0: typed-array views of it are aligned, and no pooled Buffer memory is shared
    const bytes = new Uint8Array(e.end - e.begin);
    readFully(this.fd, bytes, e.begin, this.path, `tensor ${name}`);
    return decodeTensorBytes(e, bytes, this.path);
  }

  close(): void {
    if (!this.open) return;
    this.open = false;
    closeSync(this.fd);
  }
}

// one readSync moves at most ~2 GiB (Linux caps a read at 0x7ffff000 bytes), so a big tensor takes several
function readFully(fd: number, into: Uint8Array, position: number, path: string, what: string): void {
  let done = 0;
  while (done < into.length) {
    let n: number;
    try {
      n = readSync(fd, into, done, into.length - done, position + done);
    } catch (e) {
      throw ioError(path, e);
    }
    if (n === 0) throw invalid(path, `the file ends at byte ${position + done} while reading ${what}`);
    done += n;
  }
}

function ioError(path: string, e: unknown): BadInputError | MissingAssetError {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return new MissingAssetError('WEIGHTS_MISSING', `${path}: no such weights file`);
  return new BadInputError('WEIGHTS_UNREADABLE', `${path}: cannot read weights (${code ?? (e as Error).message})`);
}
