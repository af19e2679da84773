#!/usr/bin/env tsx
// Writes every generated file from schemas/; with --check, lists stale ones and exits 1.
import { writeFileSync } from 'node:fs';
import { relative } from 'node:path';
import { generatedFiles, staleFiles } from './lib/generate.ts';
import { repoRoot } from './lib/paths.ts';

const files = generatedFiles();
const stale = staleFiles(files);
if (process.argv.includes('--check')) {
  if (stale.length > 0) {
    console.error(`stale generated files (run npm run generate):\n${stale.map((f) => `  ${f}`).join('\n')}`);
    process.exit(1);
  }
  console.log(`${files.length} generated files up to date`);
} else {
  for (const file of files) writeFileSync(file.path, file.content);
  console.log(`wrote ${files.length} files (${stale.length} changed): ${files.map((f) => relative(repoRoot, f.path)).join(', ')}`);
}
