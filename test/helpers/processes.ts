// Children a test helper started, ended by their pids (afterAll, also after a failure).
import type { ChildProcess } from 'node:child_process';

/** SIGKILLs every child of the set that still runs, waits for each exit (at most 5 s each), and empties the set. */
export async function killChildren(running: Set<ChildProcess>): Promise<void> {
  await Promise.all(
    [...running].map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return resolve();
          child.once('exit', () => resolve());
          process.kill(child.pid, 'SIGKILL');
          setTimeout(resolve, 5_000);
        }),
    ),
  );
  running.clear();
}
