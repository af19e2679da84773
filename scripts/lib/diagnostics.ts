/** A problem found in a source file, reported as `file:line:col  path: message`. */
export interface Diagnostic {
  file: string;
  /** 1-based. */
  line: number;
  /** 1-based, in UTF-16 code units (as editors and the `yaml` package count). */
  column: number;
  /** Dot-joined key path with `[i]` for array indexes; `''` for the document root. */
  path: string;
  /** One line, no trailing period required. */
  message: string;
  /** Machine-readable rule id, e.g. `duplicate-key`. */
  rule?: string;
  /** Absent means `error`. */
  severity?: Severity;
}

export type Severity = 'error' | 'warning';

export type PathSegment = string | number;

const SIMPLE_KEY = /^[^.[\]"'\s]+$/;

/**
 * `['app', 'ingress', 'hosts', 0, 'host']` → `app.ingress.hosts[0].host`.
 * Keys that would be ambiguous when dot-joined (dots, brackets, spaces, empty)
 * are written as `["app.kubernetes.io/name"]`.
 */
export function formatPath(segments: readonly PathSegment[]): string {
  let out = '';
  for (const seg of segments) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (SIMPLE_KEY.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

export function isError(d: Diagnostic): boolean {
  return d.severity !== 'warning';
}

export function formatDiagnostic(d: Diagnostic): string {
  const path = d.path === '' ? '(root)' : d.path;
  const message = d.message.replace(/\s*[\r\n]+\s*/g, ' ').trim();
  return `${d.file}:${d.line}:${d.column}  ${path}: ${message}`;
}

/** Returns a new array sorted by file, line, column; ties keep their input order. */
export function sortDiagnostics(ds: readonly Diagnostic[]): Diagnostic[] {
  return [...ds].sort((a, b) => {
    if (a.file !== b.file) return a.file < b.file ? -1 : 1;
    return a.line - b.line || a.column - b.column;
  });
}
