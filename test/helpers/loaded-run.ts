#!/usr/bin/env tsx
// The flake hunt: runs vitest (the arguments given, e.g. `--project slow`)
// N times in a row while a CPU hog keeps every core busy, then stops the hog
// by the ids it recorded (also on failure or Ctrl-C) and prints one line per run.
//
//   npx tsx test/helpers/loaded-run.ts --times 3 -- --project slow
import { spawn, type ChildProcess } from 'node:child_process';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../../scripts/lib/paths.ts';

/** One busy-looping process per core (plain node, no shell): their pids are the hog. */
export function startHog(processes = availableParallelism()): ChildProcess[] {
  return Array.from({ length: processes }, () => spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }));
}

/** Stops exactly the hog's processes, by their ids, and waits for them to exit. */
export async function stopHog(hog: ChildProcess[]): Promise<void> {
  await Promise.all(
    hog.map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('exit', () => resolve());
          process.kill(child.pid as number, 'SIGKILL');
        }),
    ),
  );
}

function runVitest(args: string[]): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(join(repoRoot, 'node_modules', '.bin', 'vitest'), ['run', ...args], { cwd: repoRoot, stdio: 'inherit' });
    child.once('exit', (code) => resolve(code ?? 1));
  });
}

if (process.argv[1]?.endsWith('loaded-run.ts')) {
  const argv = process.argv.slice(2);
  const split = argv.indexOf('--');
  const own = split >= 0 ? argv.slice(0, split) : argv;
  const vitestArgs = split >= 0 ? argv.slice(split + 1) : [];
  const timesAt = own.indexOf('--times');
  const times = timesAt >= 0 ? Number(own[timesAt + 1]) : 3;
  const hog = startHog();
  const stop = () => stopHog(hog);
  process.once('SIGINT', () => void stop().then(() => process.exit(130)));
  const results: string[] = [];
  let failed = 0;
  try {
    for (let i = 1; i <= times; i++) {
      const started = Date.now();
      const code = await runVitest(vitestArgs);
      if (code !== 0) failed++;
      results.push(`run ${i}/${times}: vitest ${vitestArgs.join(' ')} exit ${code} in ${((Date.now() - started) / 1000).toFixed(0)} s (load ${loadavg()[0]!.toFixed(1)}, hog pids ${hog.map((c) => c.pid).join(' ')})`);
    }
  } finally {
    await stop();
  }
  for (const line of results) console.log(`loaded-run: ${line}`);
  process.exit(failed ? 1 : 0);
}
