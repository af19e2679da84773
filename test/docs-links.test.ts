// Every relative link and #anchor in the repository's Markdown resolves, every
// README section a comment or message cites exists, and every *.md file a
// comment names is in the tree (scripts/lib/markdown-links.ts).
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { danglingCitations, danglingFileMentions, danglingLinks, formatDangling, headingsOf, headingSlug, linksOf, type TextFile } from '../scripts/lib/markdown-links.ts';
import { repoRoot } from '../scripts/lib/paths.ts';

const tracked = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], { cwd: repoRoot, encoding: 'utf8' })
  .split('\n')
  .filter((p) => p !== '' && existsSync(join(repoRoot, p)));
const read = (path: string): TextFile => ({ path, text: readFileSync(join(repoRoot, path), 'utf8') });
const markdown = tracked.filter((p) => p.endsWith('.md')).map(read);
const SOURCE = /^(scripts|test|charts|\.ci|\.github|values|schemas|tools)\/.*\.(ts|mjs|sh|tpl|yaml|yml|txt)$|^\.ci\/run$/;
// the checker and this test hold sample references on purpose
const SELF = ['scripts/lib/markdown-links.ts', 'test/docs-links.test.ts'];
const sources = tracked.filter((p) => SOURCE.test(p) && !p.startsWith('test/fixtures/') && !SELF.includes(p)).map(read);

describe('links and citations in the tree', () => {
  it('reads the tree (Markdown files and sources)', () => {
    expect(markdown.map((f) => f.path)).toContain('README.md');
    expect(sources.length).toBeGreaterThan(100);
  });

  it('every relative link and #anchor in every Markdown file resolves', () => {
    const found = danglingLinks(markdown, (p) => existsSync(join(repoRoot, p)));
    expect(formatDangling(found)).toBe('');
  });

  it('every README section cited by code, templates, scripts and workflows exists', () => {
    expect(formatDangling(danglingCitations(sources, markdown))).toBe('');
  });

  it('every Markdown file named in a comment is in the tree', () => {
    expect(formatDangling(danglingFileMentions(sources, tracked))).toBe('');
  });
});

describe('the checker itself', () => {
  it('slugs headings as GitHub does', () => {
    expect(headingSlug('Real pods on this machine')).toBe('real-pods-on-this-machine');
    expect(headingSlug('`npm run deploy`: what it checks')).toBe('npm-run-deploy-what-it-checks');
    expect(headingSlug('Vault / ESO (prod)')).toBe('vault--eso-prod');
    expect(headingsOf('# A\n## B\n```\n# not a heading\n```\n## B\n').map((h) => h.slug)).toEqual(['a', 'b', 'b-1']);
  });

  it('finds inline links and reference definitions outside code', () => {
    expect(linksOf('see [a](docs/x.md#y) and `[b](no.md)`\n\n[ref]: ../z.md\n```\n[c](code.md)\n```\n').map((l) => l.target)).toEqual(['docs/x.md#y', '../z.md']);
  });

  it('reports a missing file, a missing anchor and a link out of the tree, and accepts good ones', () => {
    const files: TextFile[] = [
      { path: 'README.md', text: '# Top\n## Install it\n[ok](docs/a.md#part-one) [self](#install-it) [gone](docs/b.md) [bad anchor](docs/a.md#nope) [out](../../x.md) [web](https://example.org)\n' },
      { path: 'docs/a.md', text: '# A\n## Part one\n[up](../README.md#top)\n' },
    ];
    const found = danglingLinks(files, () => false);
    expect(found.map((d) => d.reference)).toEqual(['docs/b.md', 'docs/a.md#nope', '../../x.md']);
  });

  it('reports a cited README section that no heading has, and a Markdown file that is not there', () => {
    const md: TextFile[] = [{ path: 'README.md', text: '# Top\n## Uninstall\n' }];
    const src: TextFile[] = [{ path: 'test/x.ts', text: '// see README "Uninstalling"\n// README, "Uninstall"\n// DESIGN.md, item 3; README.md\n' }];
    expect(danglingCitations(src, md).map((d) => `${d.line}:${d.reference}`)).toEqual(['1:README "Uninstalling"']);
    expect(danglingFileMentions(src, ['README.md', 'test/x.ts']).map((d) => `${d.line}:${d.reference}`)).toEqual(['3:DESIGN.md']);
  });
});
