// A MongoDB-wire-compatible server for the backup tests: FerretDB v1 with its
// embedded SQLite backend (built by .ci/install-backup-tools.sh), on 127.0.0.1,
// with SCRAM authentication; plus the real mongoimport/mongoexport to seed and read it.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConnection } from 'node:net';
import { BACKUP_TOOLS_BIN } from './s3.ts';
import { freePort } from './registry.ts';

export const FERRETDB = join(BACKUP_TOOLS_BIN, 'ferretdb');

/** The throwaway-server command verify.sh runs instead of mongod (DBPATH and PORT set by the script). */
export const FERRETDB_VERIFY_CMD =
  `${FERRETDB} --handler=sqlite --sqlite-url="file:$DBPATH/" --state-dir="$DBPATH" --listen-addr="127.0.0.1:$PORT" --debug-addr=- --telemetry=disable --log-level=warn`;

export interface MongoServer {
  port: number;
  hosts: string;
  username: string;
  password: string;
  uri: string;
  importDocs(db: string, collection: string, docs: object[], drop?: boolean): void;
  exportDocs(db: string, collection: string): Record<string, unknown>[];
  stop(): Promise<void>;
}

function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const socket = createConnection({ host: '127.0.0.1', port });
      socket.once('connect', () => {
        socket.destroy();
        resolve();
      });
      socket.once('error', () => {
        socket.destroy();
        if (Date.now() > deadline) reject(new Error(`nothing listens on 127.0.0.1:${port}`));
        else setTimeout(attempt, 100);
      });
    };
    attempt();
  });
}

export async function startFerretDB(): Promise<MongoServer> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'backup-ferretdb-'));
  mkdirSync(join(dir, 'data'));
  const username = 'backup';
  const password = 'p4ss-w0rd-not-in-any-configmap';
  const child: ChildProcess = spawn(
    FERRETDB,
    [
      '--handler=sqlite',
      `--sqlite-url=file:${join(dir, 'data')}/`,
      `--state-dir=${dir}`,
      `--listen-addr=127.0.0.1:${port}`,
      '--debug-addr=-',
      '--telemetry=disable',
      '--log-level=warn',
      '--test-enable-new-auth',
      '--setup-database=admin',
      `--setup-username=${username}`,
      `--setup-password=${password}`,
    ],
    { stdio: 'ignore' },
  );
  await waitForPort(port, 20_000);
  const uri = `mongodb://${username}:${password}@127.0.0.1:${port}/?authSource=admin`;
  const tool = (name: string, args: string[], input?: string) => {
    const r = spawnSync(join(BACKUP_TOOLS_BIN, name), [`--uri=${uri}`, ...args], { input, encoding: 'utf8', timeout: 60_000 });
    if (r.status !== 0) throw new Error(`${name} ${args.join(' ')} failed: ${r.stderr}`);
    return r.stdout;
  };
  return {
    port,
    hosts: `127.0.0.1:${port}`,
    username,
    password,
    uri,
    importDocs(db, collection, docs, drop = false) {
      const file = join(dir, `${db}.${collection}.json`);
      writeFileSync(file, docs.map((d) => JSON.stringify(d)).join('\n') + '\n');
      tool('mongoimport', [`--db=${db}`, `--collection=${collection}`, `--file=${file}`, '--quiet', ...(drop ? ['--drop'] : [])]);
    },
    exportDocs(db, collection) {
      const out = tool('mongoexport', [`--db=${db}`, `--collection=${collection}`, '--quiet', '--sort={"_id":1}']);
      return out.split('\n').filter(Boolean).map((line) => JSON.parse(line));
    },
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => setTimeout(r, 100));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
