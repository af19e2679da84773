// External tools (ct, kubeconform, ...) installed by .ci/install-tools.sh into
// .cache/tools/bin, else found on PATH.
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { cacheDir } from './paths.ts';

export const toolsBin = join(cacheDir, 'tools', 'bin');

/** A program on PATH (after `firstDirs`), or undefined. */
export function findOnPath(name: string, firstDirs: readonly string[] = []): string | undefined {
  for (const dir of [...firstDirs, ...(process.env.PATH ?? '').split(delimiter)]) {
    if (!dir) continue;
    const candidate = join(dir, name);
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

export function findTool(name: string): string | undefined {
  return findOnPath(name, [toolsBin]);
}

/** PATH with the project's tools and the chosen helm first, for tools that call helm themselves (ct). */
export function toolPath(helmPath: string): string {
  return [join(helmPath, '..'), toolsBin, process.env.PATH ?? ''].join(delimiter);
}
