// Throwaway servers for publish tests: a static chart repository over HTTP and
// Debian's docker-registry as an OCI registry, both on 127.0.0.1 only.
import { spawn, type ChildProcess } from 'node:child_process';
import { createReadStream, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { assertOwnPorts, freePort, listenOnFreePort } from '../../scripts/lib/net.ts';
import { tmpdir } from 'node:os';
import { findOnPath } from '../../scripts/lib/tools.ts';
import { join, normalize, sep } from 'node:path';

/** The program's path on PATH; throws (so the test fails, not skips) when it is missing. */
export function requireBinary(name: string, debianPackage: string): string {
  const found = findOnPath(name);
  if (found) return found;
  throw new Error(`${name} not found on PATH: install the Debian package ${debianPackage} (.ci/install-tools.sh does)`);
}

/** helm state (repositories, caches, registry logins) inside `dir`, so the user's is untouched. */
export function isolatedHelmEnv(dir: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    HELM_CONFIG_HOME: join(dir, 'config'),
    HELM_CACHE_HOME: join(dir, 'cache'),
    HELM_DATA_HOME: join(dir, 'data'),
    HELM_REPOSITORY_CONFIG: join(dir, 'config', 'repositories.yaml'),
    HELM_REPOSITORY_CACHE: join(dir, 'cache', 'repository'),
    HELM_REGISTRY_CONFIG: join(dir, 'config', 'registry.json'),
  };
}


export interface RunningServer {
  /** host:port */
  address: string;
  stop(): Promise<void>;
}

/** Serves the files of `dir` (GET only, no listing). */
export async function serveDirectory(dir: string): Promise<RunningServer> {
  const server: Server = createHttpServer((req, res) => {
    const path = normalize(join(dir, decodeURIComponent((req.url ?? '/').split('?')[0] ?? '/')));
    if (req.method !== 'GET' || !path.startsWith(dir + sep) || !existsSync(path) || !statSync(path).isFile()) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': path.endsWith('.yaml') ? 'text/yaml' : 'application/octet-stream' });
    createReadStream(path).pipe(res);
  });
  // a port from the allocator, not listen(0): that one comes from the ephemeral range
  const port = await listenOnFreePort(server);
  return {
    address: `127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function waitForHttp(url: string, child: ChildProcess, log: () => string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited with ${child.exitCode}: ${log()}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`docker-registry did not answer ${url} within ${timeoutMs} ms: ${log()}`);
}

/** Starts docker-registry on a free 127.0.0.1 port with storage in a temp dir. */
export async function startRegistry(): Promise<RunningServer> {
  const registryBin = requireBinary('docker-registry', 'docker-registry');
  const dir = mkdtempSync(join(tmpdir(), 'oci-registry-'));
  const port = await freePort();
  mkdirSync(join(dir, 'data'));
  const config = join(dir, 'config.yml');
  writeFileSync(
    config,
    [
      'version: 0.1',
      'log:',
      '  level: error',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${join(dir, 'data')}`,
      'http:',
      `  addr: 127.0.0.1:${port}`,
      '',
    ].join('\n'),
  );
  const child = spawn(registryBin, ['serve', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitForHttp(`http://127.0.0.1:${port}/v2/`, child, () => stderr, 15_000);
    assertOwnPorts('docker-registry', child.pid as number, [port]);
  } catch (error) {
    await stop();
    throw error;
  }
  return { address: `127.0.0.1:${port}`, stop };
}

export { freePort };
