// Dangling references in the repository's docs: relative Markdown links and
// #anchors that resolve to nothing, README sections cited by a comment or a
// message ('README "Section"') that no Markdown heading has, and *.md files a
// comment names that the repository does not hold. Pure over a file list, so
// tests feed it both the real tree and small samples.

export interface TextFile {
  /** repository-relative, "/" separated */
  path: string;
  text: string;
}

export interface Dangling {
  file: string;
  line: number;
  reference: string;
  why: string;
}

/** GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens. */
export function headingSlug(heading: string): string {
  const text = heading
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1') // a link keeps its text
    .replace(/<[^>]+>/g, '')
    .trim()
    .toLowerCase();
  return text.replace(/[^\p{L}\p{N}\p{M} _-]/gu, '').replace(/ /g, '-');
}

/** Lines outside fenced code blocks, with their 1-based numbers. */
function proseLines(text: string): { line: number; text: string }[] {
  const out: { line: number; text: string }[] = [];
  let fence: string | undefined;
  text.split('\n').forEach((raw, i) => {
    const opener = /^\s*(```+|~~~+)/.exec(raw);
    if (opener) {
      const mark = opener[1] as string;
      if (!fence) fence = mark[0]!.repeat(mark.length);
      else if (raw.trim().startsWith(fence)) fence = undefined;
      return;
    }
    if (!fence) out.push({ line: i + 1, text: raw });
  });
  return out;
}

export interface Heading {
  text: string;
  slug: string;
  line: number;
}

/** The headings of a Markdown file with the anchors GitHub gives them (a repeated slug gets -1, -2, …). */
export function headingsOf(markdown: string): Heading[] {
  const seen = new Map<string, number>();
  const out: Heading[] = [];
  for (const { line, text } of proseLines(markdown)) {
    const m = /^#{1,6}\s+(.+?)\s*#*\s*$/.exec(text);
    if (!m) continue;
    const base = headingSlug(m[1] as string);
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    out.push({ text: (m[1] as string).replace(/`/g, ''), slug: count === 0 ? base : `${base}-${count}`, line });
  }
  return out;
}

/** Inline links and images `[text](target)` and reference definitions `[x]: target`, outside code. */
export function linksOf(markdown: string): { line: number; target: string }[] {
  const out: { line: number; target: string }[] = [];
  for (const { line, text } of proseLines(markdown)) {
    const withoutCode = text.replace(/`[^`]*`/g, '');
    for (const m of withoutCode.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) out.push({ line, target: m[1] as string });
    const def = /^\s{0,3}\[[^\]]+\]:\s+<?(\S+?)>?(?:\s+"[^"]*")?\s*$/.exec(withoutCode);
    if (def) out.push({ line, target: def[1] as string });
  }
  return out;
}

function dirOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i < 0 ? '' : path.slice(0, i);
}

/** a/b/../c → a/c; undefined when it climbs out of the repository. */
export function joinPath(dir: string, relative: string): string | undefined {
  const parts = dir ? dir.split('/') : [];
  for (const part of relative.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (parts.length === 0) return undefined;
      parts.pop();
    } else parts.push(part);
  }
  return parts.join('/');
}

/**
 * Every relative link of every Markdown file that points at no file or
 * directory of the tree, or at an #anchor its target has no heading for.
 * `exists` answers for paths that are not in `files` (directories, images).
 */
export function danglingLinks(markdownFiles: TextFile[], exists: (path: string) => boolean): Dangling[] {
  const byPath = new Map(markdownFiles.map((f) => [f.path, f]));
  const anchors = new Map<string, Set<string>>();
  const anchorsOf = (path: string) => {
    let set = anchors.get(path);
    if (!set) {
      const file = byPath.get(path);
      set = new Set(file ? headingsOf(file.text).map((h) => h.slug) : []);
      anchors.set(path, set);
    }
    return set;
  };
  const out: Dangling[] = [];
  for (const file of markdownFiles) {
    for (const { line, target } of linksOf(file.text)) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:, …
      const [pathPart, anchor] = target.split('#', 2) as [string, string | undefined];
      const resolved = pathPart === '' ? file.path : joinPath(dirOf(file.path), decodeURIComponent(pathPart));
      if (resolved === undefined) {
        out.push({ file: file.path, line, reference: target, why: 'climbs out of the repository' });
        continue;
      }
      if (!byPath.has(resolved) && !exists(resolved)) {
        out.push({ file: file.path, line, reference: target, why: `${resolved} does not exist` });
        continue;
      }
      if (anchor && resolved.endsWith('.md') && !anchorsOf(resolved).has(anchor.toLowerCase())) {
        out.push({ file: file.path, line, reference: target, why: `${resolved} has no heading whose anchor is #${anchor}` });
      }
    }
  }
  return out;
}

/**
 * README sections that code, templates and scripts cite as
 * `README "Section"` (or `README, "Section"`, `README section "Section"`) and
 * that no Markdown heading of the tree carries.
 */
export function danglingCitations(sources: TextFile[], markdownFiles: TextFile[]): Dangling[] {
  const headings = new Set(markdownFiles.flatMap((f) => headingsOf(f.text).map((h) => h.text.toLowerCase())));
  const out: Dangling[] = [];
  for (const file of sources) {
    file.text.split('\n').forEach((text, i) => {
      for (const m of text.matchAll(/README(?:\.md)?(?:'s)?,?\s+(?:section\s+)?"([^"]{2,80})"/g)) {
        const section = (m[1] as string).replace(/`/g, '').replace(/^#+\s*/, ''); // 'README "### validate"' names the heading with its level
        if (!headings.has(section.toLowerCase())) out.push({ file: file.path, line: i + 1, reference: `README "${section}"`, why: 'no Markdown heading has that text' });
      }
    });
  }
  return out;
}

/** Markdown files named in comments (`DESIGN.md`, `charts/x/README.md`) that the tree does not hold. */
export function danglingFileMentions(sources: TextFile[], allPaths: readonly string[]): Dangling[] {
  const basenames = new Set(allPaths.map((p) => p.slice(p.lastIndexOf('/') + 1)));
  const paths = new Set(allPaths);
  const out: Dangling[] = [];
  for (const file of sources) {
    file.text.split('\n').forEach((text, i) => {
      if (!/^\s*(\/\/|#|\*|\/\*|\{\{-?\s*\/\*)/.test(text)) return; // comments only: strings in tests name sample files
      for (const m of text.matchAll(/(?<![\w./-])((?:[\w.-]+\/)*[\w-]+\.md)\b/g)) {
        const mention = m[1] as string;
        const found = mention.includes('/') ? paths.has(mention) || paths.has(joinPath(dirOf(file.path), mention) ?? '') : basenames.has(mention);
        if (!found) out.push({ file: file.path, line: i + 1, reference: mention, why: 'no such Markdown file in the repository' });
      }
    });
  }
  return out;
}

export function formatDangling(found: Dangling[]): string {
  return found.map((d) => `${d.file}:${d.line}: ${d.reference}: ${d.why}`).join('\n');
}
