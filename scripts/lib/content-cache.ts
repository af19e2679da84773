// Results of deterministic programs (helm template, the lint checkers) kept
// under .cache/ by the content of everything they read: reused by every test
// file, worker and later run while that content is unchanged. Writers put a
// temp file beside the entry and rename it in, so concurrent workers never
// read half an entry; an unreadable entry is a miss.
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, realpathSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { cacheDir } from './paths.ts';

/** TECHSHOP_CONTENT_CACHE=0 turns every content cache off (bench's cold runs). */
export function contentCacheEnabled(): boolean {
  return process.env.TECHSHOP_CONTENT_CACHE !== '0';
}

export function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Hash of a file's bytes, remembered per process while its size and mtime stay. */
const fileHashes = new Map<string, { signature: string; hash: string }>();

export function fileHash(path: string): string {
  const stat = statSync(path);
  const signature = `${stat.size}:${stat.mtimeMs}:${stat.ino}`;
  const known = fileHashes.get(path);
  if (known?.signature === signature) return known.hash;
  const hash = sha256(readFileSync(path));
  fileHashes.set(path, { signature, hash });
  return hash;
}

function walk(dir: string, out: string[]): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) walk(path, out);
    else if (entry.isFile() || entry.isSymbolicLink()) out.push(path);
  }
}

/**
 * Hash of a directory tree: every file's relative path and bytes (a chart with
 * its packaged dependencies under charts/). Files are hashed again only when
 * their size or mtime changed.
 */
export function treeHash(dir: string): string {
  const files: string[] = [];
  walk(dir, files);
  files.sort();
  const hash = createHash('sha256');
  for (const file of files) hash.update(`${relative(dir, file)}\0${fileHash(file)}\n`);
  return hash.digest('hex');
}

/**
 * A directory by listing only (each file's relative path, size and mtime): for
 * big generated trees (the Kubernetes JSON schemas) that only an install step rewrites.
 */
export function treeListing(dir: string): string {
  const files: string[] = [];
  walk(dir, files);
  files.sort();
  const hash = createHash('sha256');
  for (const file of files) {
    const stat = statSync(file);
    hash.update(`${relative(dir, file)}\0${stat.size}\0${stat.mtimeMs}\n`);
  }
  return hash.digest('hex');
}

/** A program as a cache key part: its resolved path, size and mtime (a rebuilt or upgraded program is another program). */
export function programIdentity(path: string): string {
  const real = realpathSync(path);
  const stat = statSync(real);
  return `${real}:${stat.size}:${stat.mtimeMs}`;
}

export interface ContentCache<T> {
  /** The stored value for `key`, else `compute()` stored (when `keep` says so) and returned. */
  get(key: unknown, compute: () => Promise<T>, keep?: (value: T) => boolean): Promise<T>;
  /** The stored value, if any (counted as a hit or a miss). */
  peek(key: unknown): T | undefined;
  /** Stores a value. */
  put(key: unknown, value: T): void;
  /** Hits and misses of this process (for bench). */
  stats: { hits: number; misses: number };
}

/**
 * A cache of JSON values under .cache/content/<name>/, keyed by the sha256 of
 * the JSON of `key`: put in the key everything the value depends on (content
 * hashes, program versions, arguments, configuration). Concurrent identical
 * requests in one process share one computation.
 */
export function contentCache<T>(name: string, root: string = join(cacheDir, 'content')): ContentCache<T> {
  const dir = join(root, name);
  const inFlight = new Map<string, Promise<T>>();
  const stats = { hits: 0, misses: 0 };
  const pathOf = (digest: string) => join(dir, digest.slice(0, 2), `${digest}.json`);
  const read = (digest: string): T | undefined => {
    try {
      return JSON.parse(readFileSync(pathOf(digest), 'utf8')) as T;
    } catch {
      return undefined; // a miss (or an unreadable entry, which the next write replaces)
    }
  };
  const write = (digest: string, value: T): void => {
    const path = pathOf(digest);
    mkdirSync(dirname(path), { recursive: true });
    const temp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    writeFileSync(temp, JSON.stringify(value));
    renameSync(temp, path);
  };
  const count = <V>(value: V | undefined): V | undefined => {
    if (value === undefined) stats.misses++;
    else stats.hits++;
    return value;
  };
  return {
    stats,
    peek(key) {
      return contentCacheEnabled() ? count(read(sha256(JSON.stringify(key)))) : undefined;
    },
    put(key, value) {
      if (contentCacheEnabled()) write(sha256(JSON.stringify(key)), value);
    },
    get(key, compute, keep = () => true) {
      if (!contentCacheEnabled()) return compute();
      const digest = sha256(JSON.stringify(key));
      const pending = inFlight.get(digest);
      if (pending) {
        stats.hits++;
        return pending;
      }
      const stored = count(read(digest));
      if (stored !== undefined) return Promise.resolve(stored);
      const promise = compute().then((value) => {
        if (keep(value)) write(digest, value);
        return value;
      });
      inFlight.set(digest, promise);
      promise.then(
        () => inFlight.delete(digest),
        () => inFlight.delete(digest),
      );
      return promise;
    },
  };
}
