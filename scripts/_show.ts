import { readFileSync } from 'node:fs';
import { createValidator } from './lib/validate.ts';
import { formatDiagnostic } from './lib/diagnostics.ts';
const v = createValidator();
for (const f of process.argv.slice(2)) for (const d of v.validate(f, readFileSync(f), f.includes('staging') ? 'prod' : undefined)) console.log(d.rule, formatDiagnostic(d));
