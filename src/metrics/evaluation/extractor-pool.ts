// onnxruntime sessions kept for the life of a process, by model file content: a worker evaluates cell after
// cell with the same extractor files, and every metric of a cell reads them again (FID, KID, precision/recall and
// faithfulness share perception.onnx). One session per file and thread count, instead of one per metric.
import { ClipModel, type ClipModelFiles } from '../clip/index.js';
import { OnnxExtractor } from '../extract/index.js';
import { sha256File } from '../../util/hash.js';

export class ExtractorPool {
  private readonly extractors = new Map<string, Promise<OnnxExtractor>>();
  private readonly clips = new Map<string, Promise<ClipModel>>();

  /** intra-op threads of every session it opens (undefined: onnxruntime's choice) */
  constructor(readonly threads?: number) {}

  /**
   * the model at `path` with every output (narrow it with select(); never dispose what this returns). Keyed by the
   * file's sha256, so a model replaced on disk is loaded again.
   */
  async extractor(path: string): Promise<OnnxExtractor> {
    return this.memo(this.extractors, await sha256File(path).catch(() => `missing:${path}`), () => OnnxExtractor.load(path, this.options()));
  }

  /** the CLIP towers and tokenizer in `files` (never dispose what this returns) */
  async clip(files: ClipModelFiles): Promise<ClipModel> {
    const hashes = await Promise.all([files.image, files.text, files.tokenizer].map((f) => sha256File(f).catch(() => `missing:${f}`)));
    return this.memo(this.clips, hashes.join('+'), () => ClipModel.load(files, this.options()));
  }

  /** releases every session (a process that ends need not) */
  async dispose(): Promise<void> {
    const all = [...this.extractors.values(), ...this.clips.values()];
    this.extractors.clear();
    this.clips.clear();
    for (const p of await Promise.allSettled(all)) if (p.status === 'fulfilled') await p.value.dispose();
  }

  private options(): { threads?: number } {
    return this.threads !== undefined ? { threads: this.threads } : {};
  }

  private memo<T>(map: Map<string, Promise<T>>, key: string, load: () => Promise<T>): Promise<T> {
    let p = map.get(key);
    if (!p) {
      p = load();
      map.set(key, p);
      // a model that failed to load is not remembered: the error is the caller's, a retry loads again
      p.catch(() => map.delete(key));
    }
    return p;
  }
}

const shared = new Map<string, ExtractorPool>();

/** this process's pool for a thread count (the evaluate stage's sessions live as long as its worker) */
export function sharedExtractorPool(threads: number | undefined): ExtractorPool {
  const key = String(threads);
  let pool = shared.get(key);
  if (!pool) {
    pool = new ExtractorPool(threads);
    shared.set(key, pool);
  }
  return pool;
}
