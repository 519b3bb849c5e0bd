// The files an ONNX model consists of: the .onnx graph and every external-data file its tensors reference
// (models over protobuf's 2 GB limit, such as open_clip ViT-g-14's towers, keep their weights there). The graph
// is walked in protobuf wire format straight from the file, skipping inline weights by their length, so finding
// the references of a 2 GB self-contained model reads a few kilobytes, not the model.
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, normalize, sep } from 'node:path';
import { BadInputError } from '../../errors.js';
import { sha256, sha256File } from '../../util/hash.js';

/** ONNX protobuf field numbers (onnx.proto, as onnx-proto's schema numbers them) */
const F = {
  model: { graph: 7, functions: 25 },
  graph: { node: 1, initializer: 5, sparseInitializer: 15 },
  node: { attribute: 5 },
  attribute: { t: 5, g: 6, tensors: 10, graphs: 11, sparseTensor: 22, sparseTensors: 23 },
  function: { node: 7 },
  sparse: { values: 1, indices: 2 },
  tensor: { name: 8, externalData: 13, dataLocation: 14 },
  entry: { key: 1, value: 2 },
} as const;
/** TensorProto.DataLocation.EXTERNAL */
const EXTERNAL = 1;
const WIRE = { varint: 0, fixed64: 1, bytes: 2, fixed32: 5 } as const;

/** one tensor's external-data reference */
export interface ExternalDataRef {
  tensor: string;
  location: string;
}

class MalformedOnnx extends Error {}

/** positioned reads through a 64 KiB window: skipping an inline weight is a seek, not a read */
class FileCursor {
  private readonly buf = Buffer.alloc(1 << 16);
  private start = 0;
  private filled = 0;
  pos = 0;

  constructor(
    private readonly fd: number,
    readonly size: number,
  ) {}

  byte(): number {
    if (this.pos >= this.size) throw new MalformedOnnx('truncated protobuf');
    if (this.pos < this.start || this.pos >= this.start + this.filled) {
      this.start = this.pos;
      this.filled = readSync(this.fd, this.buf, 0, this.buf.length, this.pos);
      if (this.filled <= 0) throw new MalformedOnnx('truncated protobuf');
    }
    return this.buf[this.pos++ - this.start]!;
  }

  /** a varint as a number (lengths and offsets fit 2^53; larger values only matter as 'not EXTERNAL') */
  varint(): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      const b = this.byte();
      value += (b & 0x7f) * scale;
      if (b < 0x80) return value;
      scale *= 128;
    }
    throw new MalformedOnnx('varint longer than 10 bytes');
  }

  /** the end offset of a length-delimited field starting here */
  lengthEnd(limit: number): number {
    const len = this.varint();
    const end = this.pos + len;
    if (end > limit) throw new MalformedOnnx('a field runs past its message');
    return end;
  }

  string(end: number): string {
    const out = Buffer.alloc(end - this.pos);
    for (let i = 0; i < out.length; i++) out[i] = this.byte();
    return out.toString('utf8');
  }
}

/** calls `field(number, end)` for each length-delimited field of the message ending at `end`; skips the rest */
function fields(c: FileCursor, end: number, field: (number: number, fieldEnd: number) => void, varint?: (number: number, value: number) => void): void {
  while (c.pos < end) {
    const key = c.varint();
    const number = Math.floor(key / 8);
    const wire = key % 8;
    if (wire === WIRE.varint) {
      const v = c.varint();
      varint?.(number, v);
    } else if (wire === WIRE.bytes) {
      const fieldEnd = c.lengthEnd(end);
      field(number, fieldEnd);
      c.pos = fieldEnd;
    } else if (wire === WIRE.fixed64) c.pos += 8;
    else if (wire === WIRE.fixed32) c.pos += 4;
    else throw new MalformedOnnx(`unexpected protobuf wire type ${wire}`);
    if (c.pos > end) throw new MalformedOnnx('a field runs past its message');
  }
}

function tensor(c: FileCursor, end: number, out: ExternalDataRef[]): void {
  let name = '';
  let location: string | undefined;
  let dataLocation = 0;
  fields(
    c,
    end,
    (n, e) => {
      if (n === F.tensor.name) name = c.string(e);
      else if (n === F.tensor.externalData) {
        let key = '';
        let value = '';
        fields(c, e, (k, ke) => {
          if (k === F.entry.key) key = c.string(ke);
          else if (k === F.entry.value) value = c.string(ke);
        });
        if (key === 'location') location = value;
      }
    },
    (n, v) => {
      if (n === F.tensor.dataLocation) dataLocation = v;
    },
  );
  if (dataLocation !== EXTERNAL) return;
  if (location === undefined) throw new MalformedOnnx(`tensor "${name}" is stored externally but names no location`);
  out.push({ tensor: name, location });
}

function sparse(c: FileCursor, end: number, out: ExternalDataRef[]): void {
  fields(c, end, (n, e) => {
    if (n === F.sparse.values || n === F.sparse.indices) tensor(c, e, out);
  });
}

function node(c: FileCursor, end: number, out: ExternalDataRef[]): void {
  fields(c, end, (n, e) => {
    if (n !== F.node.attribute) return;
    fields(c, e, (a, ae) => {
      if (a === F.attribute.t || a === F.attribute.tensors) tensor(c, ae, out);
      else if (a === F.attribute.g || a === F.attribute.graphs) graph(c, ae, out);
      else if (a === F.attribute.sparseTensor || a === F.attribute.sparseTensors) sparse(c, ae, out);
    });
  });
}

function graph(c: FileCursor, end: number, out: ExternalDataRef[]): void {
  fields(c, end, (n, e) => {
    if (n === F.graph.node) node(c, e, out);
    else if (n === F.graph.initializer) tensor(c, e, out);
    else if (n === F.graph.sparseInitializer) sparse(c, e, out);
  });
}

/**
 * Every external-data reference of the model at `path`: initializers, sparse initializers and constant tensors
 * of nodes, in subgraphs and functions too. A file that is not an ONNX protobuf is a BadInputError naming it.
 */
export function onnxExternalDataRefs(path: string): ExternalDataRef[] {
  const fd = openSync(path, 'r');
  try {
    const c = new FileCursor(fd, statSync(path).size);
    const out: ExternalDataRef[] = [];
    fields(c, c.size, (n, e) => {
      if (n === F.model.graph) graph(c, e, out);
      else if (n === F.model.functions) fields(c, e, (f, fe) => (f === F.function.node ? node(c, fe, out) : undefined));
    });
    return out;
  } catch (e) {
    if (e instanceof MalformedOnnx) throw new BadInputError('ONNX_UNREADABLE', `cannot load ONNX model ${path}: not an ONNX protobuf (${e.message})`);
    throw e;
  } finally {
    closeSync(fd);
  }
}

/**
 * The distinct external-data files of the model at `path`, as written in the graph (relative to the model's
 * folder), sorted. A location that is absolute or leaves the model's folder, or a file that does not exist, is a
 * BadInputError naming the model, the file and a tensor that needs it.
 */
export function onnxExternalDataFiles(path: string): string[] {
  const byLocation = new Map<string, string>();
  for (const ref of onnxExternalDataRefs(path)) if (!byLocation.has(ref.location)) byLocation.set(ref.location, ref.tensor);
  const folder = dirname(path);
  for (const [location, tensorName] of byLocation) {
    const norm = normalize(location);
    if (isAbsolute(location) || norm === '..' || norm.startsWith(`..${sep}`)) {
      throw new BadInputError('ONNX_EXTERNAL_DATA_OUTSIDE', `${path}: tensor "${tensorName}" keeps its data at ${location}, outside the model's folder`, 'external data must lie beside the .onnx file (onnx.save_model(..., location=<file name>))');
    }
    const file = join(folder, location);
    if (!existsSync(file) || !statSync(file).isFile()) {
      throw new BadInputError('ONNX_EXTERNAL_DATA_MISSING', `${path}: its external data file ${file} (tensor "${tensorName}") does not exist`, 'copy the .data file(s) written with the .onnx beside it');
    }
  }
  return [...byLocation.keys()].sort();
}

/**
 * The identity of a model from its file hashes: the .onnx file's own sha256 when it has no external data (so a
 * self-contained model keeps the sha256 `sha256sum` prints), else the sha256 of the sorted (location, sha256)
 * list with the graph first under '' — the digest the asset-hash cache (util/asset-hash-cache.ts) gives a file
 * with companions, so a run's asset hash and the protocol's extractor_sha256 agree.
 */
export function onnxModelDigest(graphSha256: string, data: ReadonlyArray<readonly [location: string, sha256: string]>): string {
  if (data.length === 0) return graphSha256;
  return sha256(JSON.stringify([['', graphSha256], ...data]));
}

/** sha256 of an ONNX model with all its external data (see onnxModelDigest) */
export async function sha256OnnxModel(path: string, files: readonly string[] = onnxExternalDataFiles(path)): Promise<string> {
  const data: Array<[string, string]> = [];
  for (const location of files) data.push([location, await sha256File(join(dirname(path), location))]);
  return onnxModelDigest(await sha256File(path), data);
}

/**
 * the asset-hash cache's companion rule: an .onnx file's external data files, other files none. A file that is no
 * ONNX protobuf has none here (hashing it is still right; loading it fails with its own message); a missing data
 * file is an error here already.
 */
export function onnxCompanionFiles(file: string): string[] {
  if (!/\.onnx$/i.test(file)) return [];
  try {
    return onnxExternalDataFiles(file);
  } catch (e) {
    if (e instanceof BadInputError && e.code === 'ONNX_UNREADABLE') return [];
    throw e;
  }
}
