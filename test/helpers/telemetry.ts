// The telemetry programs (.ci/install-telemetry-tools.sh): the OpenTelemetry
// Collector distribution and Jaeger, started on configs the charts render.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { killChildren } from './processes.ts';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { dump } from 'js-yaml';
import { assertOwnPorts } from '../../scripts/lib/net.ts';
import { repoRoot } from '../../scripts/lib/paths.ts';
import { waitFor } from './redis-server.ts';

export const HOST = '127.0.0.1';
const INSTALL = join(repoRoot, '.ci', 'install-telemetry-tools.sh');
let toolsDir: string | undefined;

/** A built program; fails loudly (with the fix) when the install script has not run. */
export function telemetryBinary(name: 'otelcol' | 'jaeger'): string {
  if (!toolsDir) {
    // the script names the directory of this checkout's pins
    const result = spawnSync('bash', [INSTALL, '--print-dir'], { encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`${INSTALL} --print-dir failed: ${result.stderr}`);
    toolsDir = result.stdout.trim();
  }
  const path = join(toolsDir, name);
  if (!existsSync(path)) throw new Error(`${path} is missing: run bash .ci/install-telemetry-tools.sh (the programs project's setup does)`);
  return path;
}

export interface Program {
  name: string;
  pid: number;
  output: () => string;
  stop: () => Promise<void>;
}

const running = new Set<ChildProcess>();

/**
 * Starts a program with `--config` and waits until its health endpoint answers
 * 200. POD_IP is the address the rendered configs bind (`${env:POD_IP}`).
 */
export async function startProgram(name: 'otelcol' | 'jaeger', config: unknown, options: { dir: string; healthPort: number; /** every port the config gives it (checked: it opens no other) */ ports?: number[] }): Promise<Program> {
  mkdirSync(options.dir, { recursive: true });
  const configPath = join(options.dir, `${name}.yaml`);
  writeFileSync(configPath, dump(config));
  const child = spawn(telemetryBinary(name), [`--config=${configPath}`], { env: { PATH: process.env.PATH, HOME: options.dir, POD_IP: HOST }, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  let output = '';
  child.stdout?.on('data', (chunk) => (output += String(chunk)));
  child.stderr?.on('data', (chunk) => (output += String(chunk)));
  let exited: string | undefined;
  const exit = new Promise<void>((resolve) =>
    child.once('exit', (code, signal) => {
      exited = `exited with ${code ?? signal}`;
      running.delete(child);
      resolve();
    }),
  );
  const program: Program = {
    name,
    pid: child.pid as number,
    output: () => output,
    stop: async () => {
      if (exited) return;
      process.kill(child.pid as number, 'SIGTERM');
      const timer = setTimeout(() => !exited && process.kill(child.pid as number, 'SIGKILL'), 10_000);
      await exit;
      clearTimeout(timer);
    },
  };
  try {
    await waitFor(
      `${name} health on ${options.healthPort}`,
      async () => {
        if (exited) throw new Error(`${name} ${exited}`);
        const response = await fetch(`http://${HOST}:${options.healthPort}/`);
        return response.status === 200 ? true : undefined;
      },
      60_000,
      250,
    );
    if (options.ports) assertOwnPorts(name, program.pid, options.ports);
  } catch (error) {
    await program.stop();
    throw new Error(`${String(error)}\n--- ${name} output ---\n${output}`);
  }
  return program;
}

/** Stops every program started here that still runs (by its pid). */
export async function stopPrograms(): Promise<void> {
  await killChildren(running);
}

/** Prometheus text → metric name → samples (labels text, value). */
export function parseMetrics(text: string): Map<string, { labels: string; value: number }[]> {
  const out = new Map<string, { labels: string; value: number }[]>();
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const list = out.get(m[1] as string) ?? [];
    list.push({ labels: m[2] ?? '', value: Number(m[3]) });
    out.set(m[1] as string, list);
  }
  return out;
}
