// Reads packaged charts (.tgz) without a tar binary. Helm 3 stamps every tar
// entry with the packaging time, so two packagings of the same sources differ
// in bytes; "the same chart" therefore means the same files with the same
// bytes, which archiveContentDigest captures.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { parse } from 'yaml';

export interface TarFile {
  path: string;
  data: Buffer;
}

function field(block: Buffer, offset: number, length: number): string {
  const raw = block.subarray(offset, offset + length);
  const end = raw.indexOf(0);
  return raw.toString('utf8', 0, end < 0 ? length : end);
}

function octal(block: Buffer, offset: number, length: number): number {
  const text = field(block, offset, length).trim();
  return text === '' ? 0 : parseInt(text, 8);
}

/** `path` from a PAX extended header ("<len> key=value\n" records). */
function paxPath(data: Buffer): string | undefined {
  let at = 0;
  while (at < data.length) {
    const space = data.indexOf(0x20, at);
    if (space < 0) break;
    const length = Number(data.toString('utf8', at, space));
    if (!Number.isInteger(length) || length <= 0) break;
    const record = data.toString('utf8', space + 1, at + length - 1);
    const eq = record.indexOf('=');
    if (record.slice(0, eq) === 'path') return record.slice(eq + 1);
    at += length;
  }
  return undefined;
}

/** Regular files of a tar stream (ustar, PAX and GNU long names), in archive order. */
export function readTar(tar: Buffer): TarFile[] {
  const files: TarFile[] = [];
  let at = 0;
  let longName: string | undefined;
  while (at + 512 <= tar.length) {
    const header = tar.subarray(at, at + 512);
    if (header.every((b) => b === 0)) break;
    const size = octal(header, 124, 12);
    const type = String.fromCharCode(header[156] ?? 0);
    const data = tar.subarray(at + 512, at + 512 + size);
    at += 512 + Math.ceil(size / 512) * 512;
    if (type === 'x') {
      longName = paxPath(data) ?? longName;
      continue;
    }
    if (type === 'L') {
      longName = field(data, 0, data.length);
      continue;
    }
    if (type === 'g') continue;
    const prefix = field(header, 345, 155);
    const name = longName ?? (prefix ? `${prefix}/${field(header, 0, 100)}` : field(header, 0, 100));
    longName = undefined;
    if (type === '0' || type === '\0') files.push({ path: name, data: Buffer.from(data) });
  }
  return files;
}

export function readChartArchive(tgzPath: string): TarFile[] {
  return readTar(gunzipSync(readFileSync(tgzPath)));
}

export function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** sha256 of the archive's bytes: what index.yaml's `digest` and `helm verify` use. */
export function fileDigest(path: string): string {
  return sha256(readFileSync(path));
}

/**
 * Content digest of a set of files: sha256 over `sha256sum`-style lines
 * ("<hex>  <path>\n") sorted by path, so tar order, mtimes, owners and gzip
 * headers do not count.
 */
export function contentDigest(files: readonly TarFile[]): string {
  const sorted = [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return `sha256:${sha256(sorted.map((f) => `${sha256(f.data)}  ${f.path}\n`).join(''))}`;
}

export function archiveContentDigest(tgzPath: string): string {
  return contentDigest(readChartArchive(tgzPath));
}

export interface ArchiveChart {
  /** Chart.yaml of the top-level chart, as parsed. */
  metadata: Record<string, unknown> & { name: string; version: string };
  contentDigest: string;
}

/** The top-level chart's Chart.yaml and the content digest, in one read. */
export function inspectChartArchive(tgzPath: string): ArchiveChart {
  const files = readChartArchive(tgzPath);
  // Helm puts everything under "<chart name>/"; subcharts sit deeper, under charts/.
  const chartYaml = files.find((f) => /^[^/]+\/Chart\.yaml$/.test(f.path));
  if (!chartYaml) throw new Error(`${tgzPath}: no <chart>/Chart.yaml in the archive`);
  const metadata = parse(chartYaml.data.toString('utf8')) as ArchiveChart['metadata'];
  if (typeof metadata?.version === 'number') metadata.version = String(metadata.version);
  if (typeof metadata?.name !== 'string' || typeof metadata.version !== 'string') {
    throw new Error(`${tgzPath}: Chart.yaml has no name or version`);
  }
  return { metadata, contentDigest: contentDigest(files) };
}
