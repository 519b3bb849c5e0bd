import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import { ConfigError, type ConfigIssue } from './issues.js';

/** A parsed YAML file that remembers where each key came from, for `file:line` messages. */
export class YamlSource {
  private constructor(
    readonly file: string,
    private readonly doc: Document,
    private readonly lines: LineCounter,
  ) {}

  static parse(file: string, text: string): YamlSource {
    const lines = new LineCounter();
    const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
    if (doc.errors.length > 0) {
      const issues: ConfigIssue[] = doc.errors.map((e) => ({
        code: 'yaml_syntax',
        path: '',
        message: e.message.split('\n')[0] ?? e.message,
        file,
        line: lines.linePos(e.pos[0]).line,
      }));
      throw new ConfigError(issues);
    }
    return new YamlSource(file, doc, lines);
  }

  toJS(): unknown {
    return this.doc.toJS({ maxAliasCount: 1000 });
  }

  /** 1-based line of the key (or element) at `path`; the deepest existing ancestor when the path is absent. */
  lineOf(path: ReadonlyArray<PropertyKey>): number | undefined {
    let node: unknown = this.doc.contents;
    let offset = offsetOf(node);
    for (const seg of path) {
      if (isMap(node)) {
        const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg));
        if (!pair) break;
        offset = offsetOf(pair.key) ?? offset;
        node = pair.value;
      } else if (isSeq(node) && typeof seg === 'number') {
        const item = node.items[seg];
        if (item === undefined) break;
        offset = offsetOf(item) ?? offset;
        node = item;
      } else break;
    }
    return offset === undefined ? undefined : this.lines.linePos(offset).line;
  }
}

function offsetOf(node: unknown): number | undefined {
  const range = (node as Node | null | undefined)?.range;
  return range ? range[0] : undefined;
}
