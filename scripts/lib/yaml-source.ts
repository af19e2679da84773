/**
 * Loader for hand-written values files: parses with the `yaml` package (for
 * source positions), reports every problem as a Diagnostic, and returns the
 * value Helm itself would see.
 *
 * Helm reads values with sigs.k8s.io/yaml, which decodes with go-yaml v2
 * (YAML 1.1 resolution into interface{}): plain `yes/no/on/off/y/n` are
 * booleans, `010` is octal 8, `1_000` is 1000 and `0b11` is 3. We parse with
 * the YAML 1.2 core schema and then apply those 1.1 readings to unquoted,
 * untagged scalars, reporting each one as a warning.
 */
import { readFile } from 'node:fs/promises';
import {
  isAlias,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  parseAllDocuments,
  type Document,
  type Node as YamlNode,
  type Pair,
  type Scalar,
  type YAMLMap,
} from 'yaml';
import { formatPath, type Diagnostic, type PathSegment, type Severity } from './diagnostics.ts';

export interface SourcePosition {
  line: number;
  column: number;
}

export interface YamlSource {
  file: string;
  /**
   * The first document as Helm would read it; `{}` for an empty file;
   * `undefined` when Helm could not read it either (rules `read`, `encoding`,
   * `syntax`, `tab`, `not-a-map`, `complex-key`, `alias-limit`, `merge-key`).
   */
  value: unknown;
  diagnostics: Diagnostic[];
  /**
   * Position of the key (map entry) or item (sequence) at `path`; for a path
   * that is not in the file, the deepest existing ancestor; `[]` is 1:1.
   */
  locate(path: readonly PathSegment[]): SourcePosition;
}

/** Passed to the `yaml` package's toJS; larger expansions are reported as `alias-limit`. */
export const MAX_ALIAS_COUNT = 100;

const FATAL_RULES = new Set(['read', 'encoding', 'syntax', 'tab', 'not-a-map', 'complex-key', 'alias-limit', 'merge-key']);

const CORE_TAGS = new Set(
  ['str', 'int', 'float', 'bool', 'null', 'map', 'seq'].map((t) => `tag:yaml.org,2002:${t}`).concat('!'),
);

// go-yaml v2 resolve table (YAML 1.1) entries that YAML 1.2 core reads as strings.
const YAML11_TRUE = new Set(['y', 'Y', 'yes', 'Yes', 'YES', 'on', 'On', 'ON']);
const YAML11_FALSE = new Set(['n', 'N', 'no', 'No', 'NO', 'off', 'Off', 'OFF']);
const HELM_TYPED_TAGS = new Set(['int', 'float', 'bool'].map((t) => `tag:yaml.org,2002:${t}`));
const GO_INT = /^([-+]?)(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)$/;
const GO_FLOAT = /^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/;

type AnyNode = YamlNode;

export async function loadYamlFile(path: string, displayName: string = path): Promise<YamlSource> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? (err instanceof Error ? err.message : String(err));
    return failed(displayName, { line: 1, column: 1 }, 'read', `cannot read file (${reason})`);
  }
  return parseYamlSource(displayName, bytes);
}

export function parseYamlSource(file: string, bytes: Uint8Array): YamlSource {
  try {
    return parse(file, bytes);
  } catch (err) {
    // Defensive: nothing should reach here, but a stack trace must never escape.
    const msg = err instanceof Error ? err.message : String(err);
    return failed(file, { line: 1, column: 1 }, 'internal', `could not load YAML: ${firstLine(msg)}`);
  }
}

function failed(file: string, pos: SourcePosition, rule: string, message: string): YamlSource {
  return {
    file,
    value: undefined,
    diagnostics: [{ file, line: pos.line, column: pos.column, path: '', message, rule }],
    locate: () => ({ line: 1, column: 1 }),
  };
}

function parse(file: string, bytes: Uint8Array): YamlSource {
  const text = decodeUtf8(bytes);
  if (typeof text !== 'string') return failed(file, text.pos, 'encoding', text.message);

  const diagnostics: Diagnostic[] = [];
  const lc = new LineCounter();
  const posAt = (offset: number): SourcePosition => {
    const { line, col } = lc.linePos(offset);
    return { line, column: col };
  };
  const report = (offset: number, path: readonly PathSegment[], rule: string, message: string, severity?: Severity) => {
    const { line, column } = posAt(offset);
    const d: Diagnostic = { file, line, column, path: formatPath(path), message, rule };
    if (severity) d.severity = severity;
    diagnostics.push(d);
  };

  const docs = parseAllDocuments(text, {
    lineCounter: lc,
    schema: 'core',
    merge: true,
    uniqueKeys: false, // reported by our own walk, with the key path
    prettyErrors: false,
    logLevel: 'silent',
  });
  const doc = docs[0];
  const finish = (value: unknown): YamlSource => {
    const sorted = sortByPosition(diagnostics);
    const fatal = sorted.some((d) => d.rule !== undefined && FATAL_RULES.has(d.rule));
    return { file, value: fatal ? undefined : value, diagnostics: sorted, locate: makeLocator(doc, text, posAt) };
  };

  if (!doc || doc.contents === null) {
    report(0, [], 'empty', 'file contains no values (empty or only comments); delete it or add values');
  }
  for (const extra of docs.slice(1)) {
    report(extra.range[0], [], 'multi-document', `more than one YAML document in the file; Helm reads only the first, so everything after this "---" is ignored`);
  }
  if (!doc) return finish({});

  // Tabs first: the yaml package's own errors are consequences of a tab
  // indent (on its line, and as misaligned mappings after it), so a file
  // with tab indentation reports the tabs only.
  const tabLines = reportTabs(text, doc, report, posAt);
  for (const e of tabLines.size > 0 ? [] : doc.errors) {
    if (e.code === 'TAB_AS_INDENT') {
      report(e.pos[0], [], 'tab', 'tab character used for indentation; YAML allows only spaces');
    } else if (e.code === 'MISSING_CHAR' && /closing .?quote/i.test(e.message)) {
      // Reported at the end of the file; the opening quote is more useful.
      const start = unterminatedQuoteStart(doc.contents as AnyNode | null, e.pos[0]);
      report(start ?? e.pos[0], [], 'syntax', 'quoted string is never closed (missing closing quote)');
    } else {
      report(e.pos[0], [], 'syntax', shortMessage(e.message));
    }
  }
  if (diagnostics.some((d) => d.rule === 'syntax' || d.rule === 'tab')) return finish(undefined);
  if (doc.contents === null) return finish({});

  const walker = new Walker(text, report, posAt);
  walker.walk(doc.contents, []);
  const root = doc.contents;
  if (!isMap(root)) {
    report(root.range?.[0] ?? 0, [], 'not-a-map', `top-level value must be a mapping of keys to values (got ${kindOf(root)})`);
  }
  if (walker.broken) return finish(undefined);

  let value: unknown;
  try {
    value = copyData(doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }));
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    if (/alias/i.test(msg)) {
      report(walker.aliasBombOffset(), [], 'alias-limit', `aliases expand to too many nodes (more than ${MAX_ALIAS_COUNT} alias expansions); this looks like a "billion laughs" document`);
    } else {
      report(0, [], 'syntax', shortMessage(msg));
    }
    return finish(undefined);
  }
  return finish(value);
}

type Reporter = (offset: number, path: readonly PathSegment[], rule: string, message: string, severity?: Severity) => void;

class Walker {
  /** Set when the document cannot be converted (bad alias). */
  broken = false;
  private readonly anchors = new Map<string, AnyNode>();
  private readonly open = new Set<AnyNode>();
  private readonly aliases: { offset: number; target: AnyNode }[] = [];

  constructor(
    private readonly text: string,
    private readonly report: Reporter,
    private readonly posAt: (offset: number) => SourcePosition,
  ) {}

  walk(node: AnyNode | null | undefined, path: PathSegment[]): void {
    if (!node) return;
    if (isAlias(node)) {
      const offset = node.range?.[0] ?? 0;
      const target = this.anchors.get(node.source);
      if (!target) {
        this.report(offset, path, 'syntax', `alias *${node.source} has no matching anchor &${node.source} before it`);
        this.broken = true;
      } else if (this.open.has(target)) {
        this.report(offset, path, 'syntax', `alias *${node.source} refers to a node that contains it (recursive alias)`);
        this.broken = true;
      } else {
        this.aliases.push({ offset, target });
      }
      return;
    }
    if (node.anchor) this.anchors.set(node.anchor, node);
    this.checkTag(node, path);

    if (isScalar(node)) {
      this.helmScalar(node, path, false);
    } else if (isMap(node)) {
      this.open.add(node);
      this.walkMap(node as YAMLMap<unknown, unknown>, path);
      this.open.delete(node);
    } else if (isSeq(node)) {
      this.open.add(node);
      node.items.forEach((item, i) => {
        const it = item as AnyNode | null;
        if (!node.flow && it?.range) this.checkDashTab(it.range[0], [...path, i]);
        this.walk(it, [...path, i]);
      });
      this.open.delete(node);
    }
  }

  /**
   * A merge key (`<<:`) takes a mapping, an alias of one, or a list of them;
   * anything else is refused by Helm's YAML parser ("map merge requires map
   * or sequence of maps") and by ours (as a failed alias expansion).
   */
  private checkMergeValue(value: AnyNode | null, keyOffset: number, path: PathSegment[]): void {
    const bad = (node: AnyNode | null): AnyNode | null | undefined => {
      if (node && isAlias(node)) {
        const target = this.anchors.get(node.source);
        return target && !isMap(target) ? node : undefined;
      }
      return node && isMap(node) ? undefined : node;
    };
    const items = value && isSeq(value) ? (value.items as (AnyNode | null)[]) : [value];
    for (const item of items) {
      const wrong = bad(item);
      if (wrong === undefined) continue;
      const target = wrong && isAlias(wrong) ? this.anchors.get(wrong.source) : wrong;
      const got = !target ? 'nothing' : isScalar(target) ? `${kindOf(target)} ${JSON.stringify(target.value)}` : kindOf(target);
      const via = wrong && isAlias(wrong) ? ` (alias *${wrong.source})` : '';
      this.report(
        wrong?.range?.[0] ?? keyOffset,
        path,
        'merge-key',
        `merge key "<<" needs a mapping or an alias of one (&anchor on a mapping), got ${got}${via}; write the keys out, or point "<<" at an anchored mapping`,
      );
      this.broken = true;
      return;
    }
  }

  private walkMap(map: YAMLMap<unknown, unknown>, path: PathSegment[]): void {
    const seen = new Map<string, number>();
    for (const pair of map.items) {
      const key = pair.key as AnyNode | null;
      const keyOffset = key?.range?.[0] ?? map.range?.[0] ?? 0;
      if (isMergeKey(pair, this.text)) {
        this.checkMergeValue(pair.value as AnyNode | null, keyOffset, path);
        this.walk(pair.value as AnyNode, path);
        continue;
      }
      if (key?.anchor) this.anchors.set(key.anchor, key);
      let name: string | undefined;
      if (key === null || (isScalar(key) && key.value === null)) {
        this.report(keyOffset, path, 'complex-key', 'empty or null mapping key; Helm requires string keys');
      } else if (isScalar(key)) {
        this.checkTag(key, path);
        name = this.helmScalar(key, path, true);
      } else {
        const what = isAlias(key) ? 'an alias' : kindOf(key);
        this.report(keyOffset, path, 'complex-key', `mapping key is ${what}; Helm requires plain string keys`);
        if (!isAlias(key)) this.walk(key, path);
      }
      if (name === undefined) {
        this.walk(pair.value as AnyNode, path);
        continue;
      }
      if (!map.flow && key && isScalar(key) && key.range) this.checkSeparatorTab(key.range[1], ':', [...path, name]);
      const first = seen.get(name);
      if (first !== undefined) {
        const { line, column } = this.posAt(first);
        this.report(keyOffset, [...path, name], 'duplicate-key', `duplicate key "${name}" (first defined at ${line}:${column}); Helm silently keeps the last one`);
      } else {
        seen.set(name, keyOffset);
      }
      this.walk(pair.value as AnyNode, [...path, name]);
    }
  }

  // go-yaml (libyaml) rejects a tab right after a block indicator (`key:<TAB>v`, `-<TAB>v`); the yaml package accepts it.
  private checkSeparatorTab(from: number, indicator: string, path: PathSegment[]): void {
    let i = from;
    while (this.text[i] === ' ' || this.text[i] === '\t') i++;
    if (this.text[i] !== indicator) return;
    for (i++; this.text[i] === ' ' || this.text[i] === '\t'; i++) {
      if (this.text[i] === '\t') {
        this.report(i, path, 'tab', `tab after "${indicator}"; Helm's YAML parser rejects it here, use a space`);
        return;
      }
    }
  }

  private checkDashTab(itemStart: number, path: PathSegment[]): void {
    let i = itemStart - 1;
    while (i >= 0 && (this.text[i] === ' ' || this.text[i] === '\t')) i--;
    if (this.text[i] === '-') this.checkSeparatorTab(i, '-', path);
  }

  /** Applies Helm's YAML 1.1 reading to a plain scalar; for keys returns the key string Helm uses. */
  private helmScalar(node: Scalar, path: PathSegment[], isKey: boolean): string | undefined {
    const offset = node.range?.[0] ?? 0;
    const src = node.range ? this.text.slice(node.range[0], node.range[1]) : String(node.value);
    if (node.type === 'PLAIN' && node.tag && HELM_TYPED_TAGS.has(node.tag)) {
      // Explicitly typed (`!!float 1`, `!!int 010`): resolve as go-yaml does, no warning.
      const n = goYamlNumber(src);
      if (YAML11_TRUE.has(src) || YAML11_FALSE.has(src)) node.value = YAML11_TRUE.has(src);
      else if (n !== undefined) node.value = n;
    } else if (node.type === 'PLAIN' && !node.tag) {
      if (YAML11_TRUE.has(src) || YAML11_FALSE.has(src)) {
        const b = YAML11_TRUE.has(src);
        const message = isKey
          ? `key ${src} is boolean ${b} in YAML 1.1, so Helm stores it as "${b}"; quote it ("${src}") if you meant the word`
          : `Helm (YAML 1.1) reads ${src} as boolean ${b}; write ${b}, or quote it ("${src}") if you meant a string`;
        this.report(offset, isKey ? [...path, String(b)] : path, 'ambiguous-boolean', message, 'warning');
        node.value = b;
      } else {
        const n = goYamlNumber(src);
        if (n !== undefined && !(typeof node.value === 'number' && Object.is(node.value, n))) {
          const octal = /^([-+]?)0([0-7]+)$/.exec(src.replace(/_/g, ''));
          const message = octal
            ? `${src} is octal in YAML 1.1, so Helm reads ${n}; write ${octal[1]}0o${octal[2]} (or ${n}) to keep that, or quote it ("${src}") for a string`
            : `Helm (YAML 1.1) reads ${src} as the number ${n}; write ${n}, or quote it ("${src}") for a string`;
          this.report(offset, isKey ? [...path, String(n)] : path, 'ambiguous-number', message, 'warning');
          node.value = n;
        }
      }
    }
    if (!isKey) return undefined;
    const name = typeof node.value === 'string' ? node.value : String(node.value);
    node.value = name;
    return name;
  }

  private checkTag(node: AnyNode, path: PathSegment[]): void {
    const tag = node.tag;
    if (!tag || CORE_TAGS.has(tag) || (isScalar(node) && isMergeTag(tag))) return;
    const start = node.range?.[0] ?? 0;
    const tagOffset = findTagOffset(this.text, start);
    const shown = tag.startsWith('tag:yaml.org,2002:') ? `!!${tag.slice(18)}` : tag;
    this.report(tagOffset, path, 'tag', `tag ${shown} is not supported; values files may only use plain YAML (strings, numbers, booleans, null, maps, lists)`);
    if (isScalar(node) && node.range) {
      // Keep the data JSON-like (e.g. !!binary would otherwise become a Buffer).
      node.value = this.text.slice(node.range[0], node.range[1]);
      delete node.tag;
    }
  }

  /** Offset of the alias at which alias expansion passes the limit (our estimate of where toJS gave up). */
  aliasBombOffset(): number {
    const memo = new Map<AnyNode, number>();
    const cost = (node: unknown): number => {
      if (!node || typeof node !== 'object') return 0;
      const n = node as AnyNode;
      const cached = memo.get(n);
      if (cached !== undefined) return cached;
      memo.set(n, 0);
      let c = 0;
      if (isAlias(n)) {
        const t = this.anchors.get(n.source);
        c = 1 + cost(t);
      } else if (isMap(n)) {
        for (const p of n.items) c += cost(p.key) + cost(p.value);
      } else if (isSeq(n)) {
        for (const it of n.items) c += cost(it);
      }
      memo.set(n, c);
      return c;
    };
    let total = 0;
    let worst = { offset: this.aliases[0]?.offset ?? 0, cost: -1 };
    for (const a of this.aliases) {
      const c = 1 + cost(a.target);
      total += c;
      if (total > MAX_ALIAS_COUNT) return a.offset;
      if (c > worst.cost) worst = { offset: a.offset, cost: c };
    }
    return worst.offset;
  }
}

function isMergeKey(pair: Pair<unknown, unknown>, text: string): boolean {
  const key = pair.key;
  if (!isScalar(key) || key.type !== 'PLAIN' || !key.range) return false;
  return text.slice(key.range[0], key.range[1]) === '<<';
}

function isMergeTag(tag: string): boolean {
  return tag === 'tag:yaml.org,2002:merge';
}

/** go-yaml v2 `resolve` for a plain scalar starting with a digit, sign or dot. */
function goYamlNumber(src: string): number | undefined {
  if (!/^[-+.0-9]/.test(src)) return undefined;
  const plain = src.startsWith('.') ? src : src.replace(/_/g, '');
  const m = GO_INT.exec(plain);
  if (m) {
    const sign = m[1] === '-' ? -1 : 1;
    const body = m[2] ?? '';
    const radix = /^0[xX]/.test(body) ? 16 : /^0[oO]/.test(body) ? 8 : /^0[bB]/.test(body) ? 2 : /^0[0-7]/.test(body) ? 8 : 10;
    const digits = radix === 10 || (radix === 8 && /^0[0-7]/.test(body)) ? body : body.slice(2);
    return sign * parseInt(digits, radix);
  }
  if (GO_FLOAT.test(plain)) return Number(plain);
  return undefined;
}

/** Lines reported for tab indentation (outside block and multi-line scalars). */
function reportTabs(text: string, doc: Document.Parsed, report: Reporter, posAt: (o: number) => SourcePosition): Set<number> {
  const lines = new Set<number>();
  if (!text.includes('\t')) return lines;
  const scalarSpans: [number, number][] = [];
  collectScalarSpans(doc.contents as AnyNode | null, scalarSpans);
  const re = /^( *)\t[ \t]*(?=[^ \t\r\n])/gm;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const lineStart = m.index;
    if (lineStart >= doc.range[2]) break; // later documents are ignored by Helm
    if (scalarSpans.some(([s, e]) => s < lineStart && lineStart < e)) continue;
    const offset = lineStart + (m[1]?.length ?? 0);
    report(offset, [], 'tab', 'tab character used for indentation; YAML allows only spaces');
    lines.add(posAt(offset).line);
  }
  return lines;
}

function unterminatedQuoteStart(node: AnyNode | null | undefined, errorOffset: number): number | undefined {
  if (!node) return undefined;
  if (isScalar(node)) {
    const quoted = node.type === 'QUOTE_DOUBLE' || node.type === 'QUOTE_SINGLE';
    return quoted && node.range && node.range[0] < errorOffset && node.range[1] >= errorOffset ? node.range[0] : undefined;
  }
  const children: unknown[] = isMap(node) ? node.items.flatMap((p) => [p.key, p.value]) : isSeq(node) ? node.items : [];
  for (const c of children) {
    const found = unterminatedQuoteStart(c as AnyNode | null, errorOffset);
    if (found !== undefined) return found;
  }
  return undefined;
}

function collectScalarSpans(node: AnyNode | null | undefined, out: [number, number][]): void {
  if (!node) return;
  if (isScalar(node)) {
    if (node.range && node.range[1] > node.range[0]) out.push([node.range[0], node.range[1]]);
  } else if (isMap(node)) {
    for (const p of node.items) {
      collectScalarSpans(p.key as AnyNode | null, out);
      collectScalarSpans(p.value as AnyNode | null, out);
    }
  } else if (isSeq(node)) {
    for (const it of node.items) collectScalarSpans(it as AnyNode | null, out);
  }
}

function makeLocator(doc: Document.Parsed | undefined, text: string, posAt: (o: number) => SourcePosition) {
  const anchorsBefore = (alias: AnyNode): AnyNode | undefined => {
    if (!doc || !isAlias(alias)) return undefined;
    return (alias.resolve(doc) as AnyNode | undefined) ?? undefined;
  };
  const deref = (node: unknown): AnyNode | undefined => {
    let n = node as AnyNode | undefined | null;
    for (let i = 0; i < 32 && n && isAlias(n); i++) n = anchorsBefore(n);
    return n ?? undefined;
  };
  const findPair = (map: AnyNode | undefined, name: string, depth: number): Pair<unknown, unknown> | undefined => {
    if (!map || !isMap(map) || depth > 16) return undefined;
    const merges: unknown[] = [];
    for (const pair of map.items) {
      if (isMergeKey(pair, text)) {
        const v = pair.value as AnyNode | null;
        if (v && isSeq(v)) merges.push(...v.items);
        else merges.push(v);
      } else if (isScalar(pair.key) && String(pair.key.value) === name) {
        return pair;
      }
    }
    for (const m of merges) {
      const found = findPair(deref(m), name, depth + 1);
      if (found) return found;
    }
    return undefined;
  };
  return (path: readonly PathSegment[]): SourcePosition => {
    let pos: SourcePosition = { line: 1, column: 1 };
    let node = deref(doc?.contents);
    for (const seg of path) {
      if (node && isMap(node)) {
        const pair = findPair(node, String(seg), 0);
        const key = pair?.key as AnyNode | undefined;
        if (!pair || !key?.range) break;
        pos = posAt(key.range[0]);
        node = deref(pair.value);
      } else if (node && isSeq(node) && (typeof seg === 'number' || /^\d+$/.test(seg))) {
        const item = node.items[Number(seg)] as AnyNode | undefined;
        if (!item?.range) break;
        pos = posAt(itemOffset(text, item));
        node = deref(item);
      } else {
        break;
      }
    }
    return pos;
  };
}

/** An empty sequence item has a zero-width range after the `-`; point at the `-` instead. */
function itemOffset(text: string, item: AnyNode): number {
  const [start, end] = item.range ?? [0, 0];
  if (end > start) return start;
  let i = start - 1;
  while (i >= 0 && /\s/.test(text[i] ?? '')) i--;
  return text[i] === '-' || text[i] === ',' ? i : start;
}

/** The tag precedes the node (possibly with an anchor in between); fall back to the node start. */
function findTagOffset(text: string, nodeStart: number): number {
  const bang = text.lastIndexOf('!', nodeStart - 1);
  if (bang < 0) return nodeStart;
  let start = bang;
  while (start > 0 && !/[\s[\]{},]/.test(text[start - 1] ?? ' ')) start--;
  const end = text.slice(start).search(/[\s,[\]{}]|$/) + start;
  return /^(\s|&[^\s,[\]{}]+)*$/.test(text.slice(end, nodeStart)) ? start : nodeStart;
}

function kindOf(node: AnyNode): string {
  if (isMap(node)) return 'a mapping';
  if (isSeq(node)) return 'a list';
  if (isAlias(node)) return 'an alias';
  if (isScalar(node)) return node.value === null ? 'null' : `a ${typeof node.value === 'object' ? 'scalar' : typeof node.value}`;
  return 'an unknown node';
}

function shortMessage(message: string): string {
  return firstLine(message).replace(/\s+at line \d+, column \d+:?$/, '').replace(/\.$/, '');
}

function firstLine(s: string): string {
  return (s.split(/\r?\n/, 1)[0] ?? '').trim();
}

function sortByPosition(ds: Diagnostic[]): Diagnostic[] {
  return [...ds].sort((a, b) => a.line - b.line || a.column - b.column);
}

/** Deep copy so that aliased subtrees are independent, as after Helm's YAML→JSON round trip. */
function copyData(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(copyData);
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, val] of Object.entries(v)) {
      Object.defineProperty(out, k, { value: copyData(val), enumerable: true, writable: true, configurable: true });
    }
    return out;
  }
  return v;
}

/** Strict UTF-8 decode (a leading BOM is dropped); on failure, the position of the first bad byte. */
function decodeUtf8(bytes: Uint8Array): string | { pos: SourcePosition; message: string } {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff)) {
      return { pos: { line: 1, column: 1 }, message: 'file is UTF-16 encoded; save it as UTF-8' };
    }
    const bad = firstInvalidUtf8(bytes);
    let line = 1;
    let lineStart = 0;
    for (let i = 0; i < bad; i++) {
      if (bytes[i] === 0x0a) {
        line++;
        lineStart = i + 1;
      }
    }
    const prefix = new TextDecoder('utf-8').decode(bytes.subarray(lineStart, bad));
    const byte = (bytes[bad] ?? 0).toString(16).padStart(2, '0');
    return {
      pos: { line, column: prefix.length + 1 },
      message: `invalid UTF-8 (byte 0x${byte}); save the file as UTF-8`,
    };
  }
}

/** Index of the first byte that starts an invalid UTF-8 sequence (WHATWG rules). */
function firstInvalidUtf8(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i] ?? 0;
    if (c < 0x80) {
      i++;
      continue;
    }
    let n: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) n = 1;
    else if (c >= 0xe0 && c <= 0xef) {
      n = 2;
      if (c === 0xe0) lo = 0xa0;
      if (c === 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 3;
      if (c === 0xf0) lo = 0x90;
      if (c === 0xf4) hi = 0x8f;
    } else return i;
    for (let k = 1; k <= n; k++) {
      const x = b[i + k];
      if (x === undefined || x < (k === 1 ? lo : 0x80) || x > (k === 1 ? hi : 0xbf)) return i;
    }
    i += n + 1;
  }
  return b.length;
}
