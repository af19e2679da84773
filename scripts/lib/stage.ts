// A pipeline stage: a function from arguments to an exit code, with a logger,
// runnable alone (scripts/<stage>.ts) or inside scripts/pipeline.ts.
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface StageContext {
  argv: string[];
  log: (line: string) => void;
}

export type Stage = (context: StageContext) => Promise<number>;

export function isEntryPoint(metaUrl: string): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(metaUrl));
  } catch {
    return false;
  }
}

/** Runs a stage as the program when its file is the entry point; errors become one line and exit 2. */
export async function runIfMain(metaUrl: string, stage: Stage): Promise<void> {
  if (!isEntryPoint(metaUrl)) return;
  try {
    process.exitCode = await stage({ argv: process.argv.slice(2), log: (line) => console.log(line) });
  } catch (err) {
    console.error(err instanceof Error ? err.message : String(err));
    process.exitCode = 2;
  }
}
