// helm provisioning: version parsing, the zip reader, and the bundled binaries themselves.
import { deflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { compareVersions, helmMatrix, parseHelmVersion } from '../scripts/lib/helm.ts';
import { run } from '../scripts/lib/exec.ts';
import { listZipEntries, readZipEntry } from '../scripts/lib/zip.ts';

/** A one-entry zip built by hand, so the reader is tested against the format, not against itself. */
function makeZip(name: string, content: Buffer, method: 0 | 8): Buffer {
  const data = method === 8 ? deflateRawSync(content) : content;
  const nameBytes = Buffer.from(name);
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(method, 8);
  local.writeUInt32LE(data.length, 18);
  local.writeUInt32LE(content.length, 22);
  local.writeUInt16LE(nameBytes.length, 26);
  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0);
  central.writeUInt16LE(method, 10);
  central.writeUInt32LE(data.length, 20);
  central.writeUInt32LE(content.length, 24);
  central.writeUInt16LE(nameBytes.length, 28);
  central.writeUInt32LE((0o100755 << 16) >>> 0, 38);
  central.writeUInt32LE(0, 42);
  const centralOffset = local.length + nameBytes.length + data.length;
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(1, 8);
  end.writeUInt16LE(1, 10);
  end.writeUInt32LE(central.length + nameBytes.length, 12);
  end.writeUInt32LE(centralOffset, 16);
  return Buffer.concat([local, nameBytes, data, central, nameBytes, end]);
}

describe('helm version handling', () => {
  it('parses both helm 3 and helm 4 version outputs', () => {
    expect(parseHelmVersion('v3.17.2+gcc0bbbd')).toBe('3.17.2');
    expect(parseHelmVersion('version.BuildInfo{Version:"v4.1.4", GitCommit:"05fa"}')).toBe('4.1.4');
    expect(parseHelmVersion('not helm')).toBeUndefined();
  });

  it('compares versions numerically', () => {
    expect(compareVersions('3.14.0', '3.9.9')).toBeGreaterThan(0);
    expect(compareVersions('3.13.3', '3.14.0')).toBeLessThan(0);
    expect(compareVersions('4.1.4', '4.1.4')).toBe(0);
  });
});

describe('zip reader', () => {
  for (const method of [0, 8] as const) {
    it(`reads a ${method === 0 ? 'stored' : 'deflated'} entry`, () => {
      const content = Buffer.from('#!/bin/sh\necho helm\n'.repeat(50));
      const zip = makeZip('helm/helm', content, method);
      expect(listZipEntries(zip).map((e) => [e.name, e.size, e.mode & 0o777])).toEqual([['helm/helm', content.length, 0o755]]);
      expect(readZipEntry(zip, 'helm/helm').equals(content)).toBe(true);
    });
  }

  it('refuses what is not a zip, and a missing entry', () => {
    expect(() => listZipEntries(Buffer.alloc(100))).toThrow(/not a zip/);
    expect(() => readZipEntry(makeZip('a', Buffer.from('x'), 0), 'b')).toThrow(/no entry b/);
  });
});

describe('bundled helm binaries', () => {
  it('provides Helm 4 and Helm 3, both runnable', async () => {
    const [h4, h3] = await helmMatrix();
    expect(h4?.major).toBe(4);
    expect(h3?.major).toBe(3);
    for (const h of [h4, h3]) {
      const result = await run(h?.path ?? '', ['version', '--short']);
      expect(result.code).toBe(0);
      expect(parseHelmVersion(result.stdout)).toBe(h?.version);
    }
  });
});
