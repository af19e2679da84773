import { cpSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { contentCache, fileHash, treeHash, treeListing } from '../scripts/lib/content-cache.ts';
import { verdictKey, type Checker } from '../scripts/lib/lint.ts';
import { cachedTemplate } from '../scripts/lib/render.ts';
import { chartDir } from '../scripts/lib/paths.ts';
import { helms } from './helpers/render.ts';

const dir = mkdtempSync(join(tmpdir(), 'content-cache-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('content-addressed cache', () => {
  it('hashes a tree by every file path and byte; a listing by path, size and mtime', () => {
    const tree = join(dir, 'tree');
    cpSync(chartDir('redis'), tree, { recursive: true });
    const before = treeHash(tree);
    const listing = treeListing(tree);
    expect(treeHash(tree)).toBe(before);
    // same size, one byte different: another hash (the mtime changes with the write)
    const file = join(tree, 'values.yaml');
    writeFileSync(join(tree, 'extra.txt'), 'x');
    expect(treeHash(tree)).not.toBe(before);
    expect(treeListing(tree)).not.toBe(listing);
    rmSync(join(tree, 'extra.txt'));
    expect(treeHash(tree)).toBe(before);
    writeFileSync(file, 'a: 1\n');
    const a = fileHash(file);
    writeFileSync(file, 'a: 2\n');
    utimesSync(file, 1, 1);
    expect(fileHash(file)).not.toBe(a);
  });

  it('computes once, stores by key, shares concurrent requests, and skips what keep refuses', async () => {
    const cache = contentCache<{ n: number }>('test', join(dir, 'store'));
    let calls = 0;
    const compute = async () => ({ n: ++calls });
    const [x, y] = await Promise.all([cache.get({ k: 1 }, compute), cache.get({ k: 1 }, compute)]);
    expect(x).toEqual({ n: 1 });
    expect(y).toEqual({ n: 1 });
    // a second cache object (another test file or worker) reads the stored entry
    const other = contentCache<{ n: number }>('test', join(dir, 'store'));
    expect(await other.get({ k: 1 }, compute)).toEqual({ n: 1 });
    expect(await other.get({ k: 2 }, compute)).toEqual({ n: 2 });
    expect(await other.get({ k: 3 }, compute, () => false)).toEqual({ n: 3 });
    expect(other.peek({ k: 3 })).toBeUndefined();
    expect(calls).toBe(3);
    // no temp file is left beside the entries
    const entries = readdirSync(join(dir, 'store', 'test'), { recursive: true }).map(String);
    expect(entries.filter((e) => e.endsWith('.tmp'))).toEqual([]);
    expect(entries.filter((e) => e.endsWith('.json'))).toHaveLength(2);
  });

  it('keys a verdict by the checker program, its configuration files and the input', () => {
    const config = join(dir, 'checker.conf');
    writeFileSync(config, 'rule: a\n');
    const checker = (): Checker => ({ name: 'kube-score', program: process.execPath, config: ['--x'], configFiles: [config] });
    const key = JSON.stringify(verdictKey(checker(), 'render'));
    expect(JSON.stringify(verdictKey(checker(), 'render'))).toBe(key);
    expect(JSON.stringify(verdictKey(checker(), 'render 2'))).not.toBe(key);
    expect(JSON.stringify(verdictKey({ ...checker(), config: ['--y'] }, 'render'))).not.toBe(key);
    expect(JSON.stringify(verdictKey({ ...checker(), name: 'other' }, 'render'))).not.toBe(key);
    writeFileSync(config, 'rule: b\n');
    expect(JSON.stringify(verdictKey(checker(), 'render'))).not.toBe(key);
  });

  it('a cached render equals a fresh one, failures included', async () => {
    const helm = helms[0]!;
    const values = join(dir, 'values.yaml');
    writeFileSync(values, 'cluster:\n  masters: 3\n');
    const first = await cachedTemplate(helm, 'redis', { valuesFiles: [values] });
    process.env.TECHSHOP_CONTENT_CACHE = '0';
    try {
      const fresh = await cachedTemplate(helm, 'redis', { valuesFiles: [values] });
      expect(fresh.code).toBe(first.code);
      // a render draws random credentials: compare what is not drawn
      const strip = (text: string) => text.replace(/^(\s*[\w.-]+:\s*)"?[A-Za-z0-9+/=]{24,}"?$/gm, '$1<drawn>').replace(/checksum\/[\w-]+: \w+/g, 'checksum');
      expect(strip(fresh.stdout)).toBe(strip(first.stdout));
    } finally {
      delete process.env.TECHSHOP_CONTENT_CACHE;
    }
    // the values file changed: another key, a real render (here refused)
    writeFileSync(values, 'cluster:\n  masters: many\n');
    const refused = await cachedTemplate(helm, 'redis', { valuesFiles: [values] });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/masters/);
  });
});

describe('content-addressed render of a missing values file', () => {
  it('leaves the error to helm', async () => {
    const result = await cachedTemplate(helms[0]!, 'redis', { valuesFiles: [join(dir, 'no-such-values.yaml')] });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/no-such-values\.yaml/);
  });
});
