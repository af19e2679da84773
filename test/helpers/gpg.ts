// A throwaway GnuPG signing key in a temp GNUPGHOME, exported as the legacy
// keyrings helm reads (it cannot read gpg 2's keybox or private-keys-v1.d).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../scripts/lib/exec.ts';
import { requireBinary } from './registry.ts';

export interface ThrowawayKey {
  /** The user id's name, usable as helm's --key. */
  name: string;
  fingerprint: string;
  /** Legacy secret keyring for `helm package --sign --keyring`. */
  secring: string;
  /** Public keyring for `helm verify --keyring`. */
  pubring: string;
  cleanup(): Promise<void>;
}

export async function createThrowawayKey(name = 'Chart Release Test'): Promise<ThrowawayKey> {
  const gpgBin = requireBinary('gpg', 'gnupg');
  const gpgconf = requireBinary('gpgconf', 'gnupg');
  const dir = mkdtempSync(join(tmpdir(), 'gpg-key-'));
  // Short path: gpg-agent's socket lives in GNUPGHOME and socket paths are limited to ~100 bytes.
  const home = join(dir, 'h');
  const env = { ...process.env, GNUPGHOME: home };
  const gpg = async (args: string[], what: string): Promise<string> => {
    const r = await run(gpgBin, ['--batch', '--no-tty', ...args], { env, timeoutMs: 60_000 });
    if (r.code !== 0) throw new Error(`gpg ${what} failed: ${r.stderr}`);
    return r.stdout;
  };
  mkdirSync(home, { mode: 0o700 });
  const params = join(dir, 'params');
  writeFileSync(
    params,
    ['%no-protection', 'Key-Type: RSA', 'Key-Length: 2048', 'Key-Usage: sign', `Name-Real: ${name}`, 'Name-Email: release-test@example.invalid', 'Expire-Date: 1d', '%commit', ''].join('\n'),
  );
  await gpg(['--gen-key', params], 'key generation');
  const colons = await gpg(['--with-colons', '--list-secret-keys'], 'list');
  const fingerprint = /^fpr:+([0-9A-F]+):/m.exec(colons)?.[1];
  if (!fingerprint) throw new Error(`gpg: no fingerprint in\n${colons}`);
  const secring = join(dir, 'secring.gpg');
  const pubring = join(dir, 'pubring.gpg');
  await gpg(['--output', secring, '--export-secret-keys', fingerprint], 'export of the secret key');
  await gpg(['--output', pubring, '--export', fingerprint], 'export of the public key');
  return {
    name,
    fingerprint,
    secring,
    pubring,
    cleanup: async () => {
      await run(gpgconf, ['--kill', 'gpg-agent'], { env, timeoutMs: 10_000 }).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
