import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { formatDiagnostic, formatPath, sortDiagnostics, type Diagnostic } from '../scripts/lib/diagnostics.ts';
import { loadYamlFile, parseYamlSource, type YamlSource } from '../scripts/lib/yaml-source.ts';

const fixtureDir = fileURLToPath(new URL('./fixtures/yaml/', import.meta.url));

function fixture(name: string): YamlSource {
  return parseYamlSource(`values/${name}`, readFileSync(fixtureDir + name));
}

function inline(text: string): YamlSource {
  return parseYamlSource('values/inline.yaml', Buffer.from(text, 'utf8'));
}

/** The fields every test pins down, in a stable shape. */
function brief(ds: Diagnostic[]) {
  return ds.map((d) => ({ rule: d.rule, line: d.line, column: d.column, path: d.path }));
}

describe('formatDiagnostic / sortDiagnostics / formatPath', () => {
  it('formats file:line:col, two spaces, path and message', () => {
    const d: Diagnostic = {
      file: 'values/values-prod.yaml',
      line: 12,
      column: 5,
      path: 'mongodb.persistence.size',
      message: 'must match pattern "^[0-9]+(Ki|Mi|Gi|Ti)$" (got "20GB")',
      rule: 'pattern',
    };
    expect(formatDiagnostic(d)).toBe(
      'values/values-prod.yaml:12:5  mongodb.persistence.size: must match pattern "^[0-9]+(Ki|Mi|Gi|Ti)$" (got "20GB")',
    );
  });

  it('prints (root) for the empty path and keeps messages on one line', () => {
    const d: Diagnostic = { file: 'v.yaml', line: 1, column: 1, path: '', message: 'first\n  second' };
    expect(formatDiagnostic(d)).toBe('v.yaml:1:1  (root): first second');
  });

  it('sorts by file, line, column and is stable', () => {
    const mk = (file: string, line: number, column: number, message: string): Diagnostic => ({ file, line, column, path: '', message });
    const sorted = sortDiagnostics([mk('b.yaml', 1, 1, 'b'), mk('a.yaml', 3, 2, 'x'), mk('a.yaml', 3, 2, 'y'), mk('a.yaml', 2, 9, 'z'), mk('a.yaml', 3, 1, 'w')]);
    expect(sorted.map((d) => `${d.file}:${d.line}:${d.column}:${d.message}`)).toEqual([
      'a.yaml:2:9:z',
      'a.yaml:3:1:w',
      'a.yaml:3:2:x',
      'a.yaml:3:2:y',
      'b.yaml:1:1:b',
    ]);
  });

  it('joins paths with dots and [i], bracket-quoting keys that contain dots', () => {
    expect(formatPath(['app', 'ingress', 'hosts', 0, 'host'])).toBe('app.ingress.hosts[0].host');
    expect(formatPath(['podLabels', 'app.kubernetes.io/name'])).toBe('podLabels["app.kubernetes.io/name"]');
    expect(formatPath([])).toBe('');
  });
});

describe('parseYamlSource: valid file', () => {
  const src = fixture('valid.yaml');

  it('has no diagnostics and yields plain data with aliases and merge keys expanded', () => {
    expect(src.diagnostics).toEqual([]);
    const v = src.value as Record<string, any>;
    expect(v.app.ingress.hosts[1].host).toBe('api.example.com');
    expect(v.app.image.tag).toBe('1.4.2');
    expect(v.worker.resources).toEqual({ requests: { cpu: '100m', memory: '128Mi' } });
    expect(v.mongodb).toEqual({ auth: { enabled: true }, persistence: { size: '20Gi' } });
  });

  it('gives aliased subtrees their own copies (like Helm after its JSON round trip)', () => {
    const v = src.value as Record<string, any>;
    expect(v.worker.resources).not.toBe(v.resourcesDefault);
    v.worker.resources.requests.cpu = '1';
    expect(v.resourcesDefault.requests.cpu).toBe('100m');
  });

  it('accepts a UTF-8 BOM; positions start after it', () => {
    const bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('a: 1\nb: x\n')]);
    const r = parseYamlSource('values/bom.yaml', bytes);
    expect(r.diagnostics).toEqual([]);
    expect(r.value).toEqual({ a: 1, b: 'x' });
    expect(r.locate(['b'])).toEqual({ line: 2, column: 1 });
  });

  it('keeps numeric keys as strings', () => {
    const r = inline('ports:\n  8080: http\n');
    expect(r.diagnostics).toEqual([]);
    expect(r.value).toEqual({ ports: { '8080': 'http' } });
  });
});

describe('locate', () => {
  const src = fixture('valid.yaml');

  it('finds the key of a nested map entry', () => {
    expect(src.locate(['app', 'image', 'tag'])).toEqual({ line: 6, column: 5 });
    expect(src.locate(['app', 'podLabels', 'app.kubernetes.io/part-of'])).toEqual({ line: 14, column: 5 });
  });

  it('finds sequence items and keys inside them', () => {
    expect(src.locate(['app', 'ingress', 'hosts', 0])).toEqual({ line: 10, column: 9 });
    expect(src.locate(['app', 'ingress', 'hosts', 0, 'paths', 0])).toEqual({ line: 11, column: 17 });
    expect(src.locate(['app', 'ingress', 'hosts', 1, 'host'])).toEqual({ line: 12, column: 9 });
  });

  it('points at an empty sequence item\'s dash', () => {
    const r = inline('list:\n  - a\n  -\n  - c\n');
    expect(r.locate(['list', 1])).toEqual({ line: 3, column: 3 });
  });

  it('falls back to the deepest existing ancestor for a missing path', () => {
    expect(src.locate(['mongodb', 'persistence', 'storageClass'])).toEqual({ line: 25, column: 3 });
    expect(src.locate(['app', 'ingress', 'hosts', 5, 'host'])).toEqual({ line: 9, column: 5 });
    expect(src.locate(['app', 'replicaCount', 'deeper'])).toEqual({ line: 3, column: 3 });
  });

  it('returns 1:1 for the root and for unknown top-level keys', () => {
    expect(src.locate([])).toEqual({ line: 1, column: 1 });
    expect(src.locate(['nope', 'x'])).toEqual({ line: 1, column: 1 });
  });

  it('follows aliases and merge keys to where the value is written', () => {
    expect(src.locate(['worker', 'resources', 'requests', 'cpu'])).toEqual({ line: 17, column: 5 });
    expect(src.locate(['mongodb', 'auth', 'enabled'])).toEqual({ line: 24, column: 7 });
  });
});

describe('rules', () => {
  it('encoding: invalid UTF-8 reports the first bad byte', () => {
    const bytes = Buffer.concat([Buffer.from('app:\n  name: caf'), Buffer.from([0xe9]), Buffer.from('\n')]);
    const r = parseYamlSource('values/latin1.yaml', bytes);
    expect(brief(r.diagnostics)).toEqual([{ rule: 'encoding', line: 2, column: 12, path: '' }]);
    expect(r.diagnostics[0]?.message).toContain('0xe9');
    expect(r.value).toBeUndefined();
  });

  it('encoding: counts columns in characters after multi-byte UTF-8', () => {
    const bytes = Buffer.concat([Buffer.from('a: 1\nname: żółw '), Buffer.from([0xc3, 0x28])]);
    expect(brief(parseYamlSource('values/x.yaml', bytes).diagnostics)).toEqual([{ rule: 'encoding', line: 2, column: 12, path: '' }]);
  });

  it('encoding: UTF-16 files are named as such', () => {
    const r = parseYamlSource('values/utf16.yaml', Buffer.from('\ufeffa: 1\n', 'utf16le'));
    expect(brief(r.diagnostics)).toEqual([{ rule: 'encoding', line: 1, column: 1, path: '' }]);
    expect(r.diagnostics[0]?.message).toMatch(/UTF-16/);
  });

  it('empty: only comments', () => {
    const r = fixture('empty.yaml');
    expect(brief(r.diagnostics)).toEqual([{ rule: 'empty', line: 1, column: 1, path: '' }]);
    expect(r.value).toEqual({});
  });

  it('empty: zero bytes', () => {
    expect(brief(parseYamlSource('values/zero.yaml', new Uint8Array()).diagnostics)).toEqual([{ rule: 'empty', line: 1, column: 1, path: '' }]);
  });

  it('tab: at the tab used for indentation', () => {
    const r = fixture('tab.yaml');
    expect(brief(r.diagnostics)).toEqual([{ rule: 'tab', line: 3, column: 1, path: '' }]);
    expect(r.value).toBeUndefined();
  });

  it('tab: after spaces, at the tab itself', () => {
    expect(brief(inline('a:\n  b: 1\n  \tc: 2\n').diagnostics)).toEqual([{ rule: 'tab', line: 3, column: 3, path: '' }]);
  });

  it('tab: right after ":" or "-" (go-yaml rejects these; the yaml package does not)', () => {
    const r = inline('app:\n  name:\tshop\n  hosts:\n    -\ta.example.com\n  flow: {a:\t1}\n');
    expect(brief(r.diagnostics)).toEqual([
      { rule: 'tab', line: 2, column: 8, path: 'app.name' },
      { rule: 'tab', line: 4, column: 6, path: 'app.hosts[0]' },
    ]);
    expect(r.value).toBeUndefined();
  });

  it('tab: allowed inside block scalar content', () => {
    const r = fixture('tab-in-block-scalar.yaml');
    expect(r.diagnostics).toEqual([]);
    expect((r.value as { script: string }).script).toBe('echo start\n\tindented with a tab inside a block scalar\n');
  });

  it('syntax: unterminated quote is reported at the opening quote, on one line', () => {
    const r = fixture('syntax.yaml');
    expect(brief(r.diagnostics)).toEqual([{ rule: 'syntax', line: 3, column: 10, path: '' }]);
    expect(r.diagnostics[0]?.message).not.toContain('\n');
    expect(r.value).toBeUndefined();
  });

  it('syntax: the yaml package message and position, shortened to one line', () => {
    const r = inline('app:\n  image: nginx\n tag: 1\n');
    expect(brief(r.diagnostics)).toEqual([{ rule: 'syntax', line: 3, column: 1, path: '' }]);
    expect(r.diagnostics[0]?.message).toBe('All mapping items must start at the same column');
  });

  it('syntax: alias without an anchor', () => {
    const r = inline('a: 1\nb: *missing\n');
    expect(brief(r.diagnostics)).toEqual([{ rule: 'syntax', line: 2, column: 4, path: 'b' }]);
    expect(r.value).toBeUndefined();
  });

  it('duplicate-key: at the second occurrence, naming the key path', () => {
    const r = fixture('duplicate-key.yaml');
    expect(brief(r.diagnostics)).toEqual([{ rule: 'duplicate-key', line: 6, column: 3, path: 'app.image' }]);
    expect(r.diagnostics[0]?.message).toBe('duplicate key "image" (first defined at 2:3); Helm silently keeps the last one');
  });

  it('alias-limit: billion laughs is rejected, modest anchors are not', () => {
    const r = fixture('alias-bomb.yaml');
    expect(brief(r.diagnostics)).toEqual([{ rule: 'alias-limit', line: 4, column: 8, path: '' }]);
    expect(r.value).toBeUndefined();
    expect(fixture('valid.yaml').diagnostics).toEqual([]);
  });

  it('merge-key: a merge key of a scalar is what it is, where it is (not an alias bomb)', () => {
    const scalar = inline('app:\n  <<: 3\n  replicaCount: 1\n');
    expect(brief(scalar.diagnostics)).toEqual([{ rule: 'merge-key', line: 2, column: 7, path: 'app' }]);
    expect(scalar.diagnostics[0]?.message).toBe('merge key "<<" needs a mapping or an alias of one (&anchor on a mapping), got a number 3; write the keys out, or point "<<" at an anchored mapping');
    expect(scalar.value).toBeUndefined();
    const alias = inline('name: &n shop\napp:\n  labels:\n    <<: [*n]\n');
    expect(brief(alias.diagnostics)).toEqual([{ rule: 'merge-key', line: 4, column: 10, path: 'app.labels' }]);
    expect(alias.diagnostics[0]?.message).toContain('got a string "shop" (alias *n)');
    // mappings, aliases of mappings and lists of them merge as before
    const good = inline('base: &b\n  replicaCount: 2\nextra: &e\n  nodeEnv: x\napp:\n  <<: [*b, *e]\n  image: {}\nother:\n  <<: {a: 1}\n');
    expect(good.diagnostics).toEqual([]);
    expect(good.value).toMatchObject({ app: { replicaCount: 2, nodeEnv: 'x', image: {} }, other: { a: 1 } });
  });

  it('multi-document: at the second document marker; the first document is still returned', () => {
    const r = fixture('multi-document.yaml');
    expect(brief(r.diagnostics)).toEqual([{ rule: 'multi-document', line: 4, column: 1, path: '' }]);
    expect(r.value).toEqual({ app: { replicaCount: 2 } });
  });

  it('not-a-map: top-level list', () => {
    const r = fixture('not-a-map.yaml');
    expect(brief(r.diagnostics)).toEqual([{ rule: 'not-a-map', line: 2, column: 1, path: '' }]);
    expect(r.diagnostics[0]?.message).toContain('got a list');
    expect(r.value).toBeUndefined();
  });

  it('not-a-map: top-level scalar', () => {
    expect(brief(inline('just a string\n').diagnostics)).toEqual([{ rule: 'not-a-map', line: 1, column: 1, path: '' }]);
  });

  it('tag: non-core tags at the tag, core tags allowed', () => {
    const r = fixture('tags.yaml');
    expect(brief(r.diagnostics)).toEqual([
      { rule: 'tag', line: 2, column: 11, path: 'app.secret' },
      { rule: 'tag', line: 3, column: 11, path: 'app.config' },
    ]);
    expect(r.diagnostics.map((d) => d.message.split(' ')[1])).toEqual(['!!binary', '!custom']);
    expect((r.value as { app: Record<string, unknown> }).app).toEqual({ secret: 'aGVsbG8=', config: { debug: true }, count: 3 });
  });

  it('complex-key: a list used as a key', () => {
    const r = fixture('complex-key.yaml');
    expect(brief(r.diagnostics)).toEqual([{ rule: 'complex-key', line: 2, column: 5, path: 'app' }]);
    expect(r.value).toBeUndefined();
  });

  it('complex-key: a null key', () => {
    expect(brief(inline('a: 1\n~: 2\n').diagnostics)).toEqual([{ rule: 'complex-key', line: 2, column: 1, path: '' }]);
  });

  it('ambiguous-boolean: values and keys are read as Helm reads them, with a warning', () => {
    const r = fixture('ambiguous-boolean.yaml');
    expect(brief(r.diagnostics)).toEqual([
      { rule: 'ambiguous-boolean', line: 3, column: 14, path: 'app.ingress.enabled' },
      { rule: 'ambiguous-boolean', line: 5, column: 5, path: 'app.ingress.true' },
    ]);
    expect(r.diagnostics.every((d) => d.severity === 'warning')).toBe(true);
    expect(r.diagnostics[0]?.message).toBe('Helm (YAML 1.1) reads yes as boolean true; write true, or quote it ("yes") if you meant a string');
    expect(r.value).toEqual({ app: { ingress: { enabled: true, tls: 'no', true: 443 } } });
  });

  it('ambiguous-boolean: every go-yaml v2 spelling, never when quoted', () => {
    const r = inline('a: y\nb: N\nc: Off\nd: ON\ne: "yes"\nf: true\ng: False\n');
    expect(r.value).toEqual({ a: true, b: false, c: false, d: true, e: 'yes', f: true, g: false });
    expect(r.diagnostics.map((d) => d.path)).toEqual(['a', 'b', 'c', 'd']);
  });

  it('ambiguous-number: YAML 1.1 octal and underscores, as Helm reads them', () => {
    const r = fixture('ambiguous-number.yaml');
    expect(brief(r.diagnostics)).toEqual([
      { rule: 'ambiguous-number', line: 2, column: 13, path: 'app.fileMode' },
      { rule: 'ambiguous-number', line: 5, column: 13, path: 'app.maxBytes' },
    ]);
    expect(r.diagnostics[0]?.message).toContain('write 0o644 (or 420)');
    expect(r.value).toEqual({ app: { fileMode: 420, quoted: '0644', modern: 420, maxBytes: 1000000 } });
  });

  it('ambiguous-number: no warning where YAML 1.1 and 1.2 agree', () => {
    const r = inline('a: 10\nb: 0\nc: 1.5\nd: 1e3\ne: 0x1F\nf: 09\n');
    expect(r.diagnostics).toEqual([]);
    expect(r.value).toEqual({ a: 10, b: 0, c: 1.5, d: 1000, e: 31, f: 9 });
  });

  it('explicit !!int/!!float/!!bool tags resolve as in go-yaml', () => {
    const r = inline('a: !!float 1\nb: !!int 010\nc: !!bool yes\nd: !!str 010\n');
    expect(r.diagnostics).toEqual([]);
    expect(r.value).toEqual({ a: 1, b: 8, c: true, d: '010' });
  });

  it('never throws, whatever the bytes', () => {
    const inputs = ['[', '{a: 1', ': :', '- - -\n\t-', '&a *a', '!!map', '? ? ?', 'a: &x\n  b: *x\n'].map((s) => Buffer.from(s));
    inputs.push(Buffer.from([0x00, 0xff, 0xfe, 0x80]));
    for (const bytes of inputs) {
      const r = parseYamlSource('values/fuzz.yaml', bytes);
      expect(r.diagnostics.length).toBeGreaterThan(0);
      for (const d of r.diagnostics) {
        expect(d.line).toBeGreaterThanOrEqual(1);
        expect(d.column).toBeGreaterThanOrEqual(1);
        expect(formatDiagnostic(d)).not.toContain('\n');
      }
    }
  });
});

describe('loadYamlFile', () => {
  it('reads the file and reports under the display name', async () => {
    const r = await loadYamlFile(fixtureDir + 'duplicate-key.yaml', 'values/duplicate-key.yaml');
    expect(r.diagnostics.map(formatDiagnostic)).toEqual([
      'values/duplicate-key.yaml:6:3  app.image: duplicate key "image" (first defined at 2:3); Helm silently keeps the last one',
    ]);
  });

  it('reports a missing file as a diagnostic, not an exception', async () => {
    const r = await loadYamlFile(fixtureDir + 'does-not-exist.yaml', 'values/does-not-exist.yaml');
    expect(brief(r.diagnostics)).toEqual([{ rule: 'read', line: 1, column: 1, path: '' }]);
    expect(r.diagnostics[0]?.message).toBe('cannot read file (ENOENT)');
  });
});
