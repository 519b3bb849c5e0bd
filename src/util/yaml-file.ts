// The one way to read a YAML input file: every syntax error and every schema issue at once, each as
// `file:line  dotted.path  message`, thrown as one IssuesError.
import { readFileSync } from 'node:fs';
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import type { z } from 'zod';
import { BadInputError } from '../errors.js';
import { IssuesError, toDotPath, type Issue, type IssueKind } from './issues.js';
import { schemaIssues } from './zod-issues.js';

/** A kind of YAML file: how its errors name it, and the code when it cannot be read at all. */
export interface YamlFileKind extends IssueKind {
  unreadable: string;
}

/** Reads `file` and validates it against `schema`; throws an IssuesError listing every problem with its line. */
export function readYamlFile<S extends z.ZodType>(file: string, schema: S, kind: YamlFileKind): z.output<S> {
  return YamlSource.read(file, kind).validate(schema);
}

/** A parsed YAML file that remembers where each key came from, for `file:line` messages. */
export class YamlSource {
  private constructor(
    readonly file: string,
    readonly kind: YamlFileKind,
    private readonly doc: Document,
    private readonly lines: LineCounter,
  ) {}

  static read(file: string, kind: YamlFileKind): YamlSource {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      const reason = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message;
      throw new BadInputError(kind.unreadable, `${file}: cannot read the ${kind.noun} file (${reason})`, 'check the path');
    }
    const lines = new LineCounter();
    const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
    if (doc.errors.length > 0) {
      const issues: Issue[] = doc.errors.map((e) => ({
        code: 'yaml_syntax',
        path: '',
        message: e.message.split('\n')[0] ?? e.message,
        file,
        line: lines.linePos(e.pos[0]).line,
      }));
      throw new IssuesError(kind, issues);
    }
    return new YamlSource(file, kind, doc, lines);
  }

  toJS(): unknown {
    try {
      return this.doc.toJS({ maxAliasCount: 1000 });
    } catch (e) {
      // an alias to no anchor, or aliases that expand past maxAliasCount (a "billion laughs" file), fail only here
      const message = (e as Error).message.split('\n')[0] ?? String(e);
      throw new IssuesError(this.kind, [{ code: 'yaml_syntax', path: '', message, file: this.file }]);
    }
  }

  /** The file's value as `schema` gives it; otherwise an IssuesError with each issue at its key's line. */
  validate<S extends z.ZodType>(schema: S): z.output<S> {
    const parsed = schema.safeParse(this.toJS(), { reportInput: true });
    if (parsed.success) return parsed.data;
    throw new IssuesError(this.kind, schemaIssues(parsed.error).map(({ path, code, message }) => this.issueAt(path, code, message)));
  }

  private issueAt(path: readonly PropertyKey[], code: string, message: string): Issue {
    const line = this.lineOf(path);
    return { code, path: toDotPath(path), message, file: this.file, ...(line === undefined ? {} : { line }) };
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
