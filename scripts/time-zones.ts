#!/usr/bin/env tsx
// Writes schemas/time-zones.schema.yaml from the zone names of this machine's
// Go (the tzdata kube-apiserver embeds); with --check, exits 1 when the names differ.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { schemasDir } from './lib/paths.ts';
import { goTimeZones, namesInSchema, TIME_ZONES_SCHEMA, timeZonesSchema } from './lib/time-zones.ts';

const target = join(schemasDir, TIME_ZONES_SCHEMA);
const { goVersion, names } = await goTimeZones();
if (process.argv.includes('--check')) {
  const listed = namesInSchema(readFileSync(target, 'utf8'));
  const missing = names.filter((name) => !listed.includes(name));
  const extra = listed.filter((name) => !names.includes(name));
  if (missing.length + extra.length > 0) {
    console.error(`schemas/${TIME_ZONES_SCHEMA} differs from ${goVersion}'s tzdata (missing: ${missing.join(', ') || 'none'}; not in Go: ${extra.join(', ') || 'none'}): run npm run time-zones`);
    process.exit(1);
  }
  console.log(`schemas/${TIME_ZONES_SCHEMA} lists the ${names.length} zones of ${goVersion}'s tzdata`);
} else {
  writeFileSync(target, timeZonesSchema(names, goVersion));
  console.log(`wrote schemas/${TIME_ZONES_SCHEMA}: ${names.length} zones of ${goVersion}'s tzdata`);
}
