// backup.timeZone accepts exactly the names the API server can load: the
// zones of Go's tzdata (kube-apiserver embeds it), listed in the generated
// schemas/time-zones.schema.yaml. Needs Go (the slow tier's machine has it).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot, schemasDir } from '../scripts/lib/paths.ts';
import { goTimeZones, namesInSchema, TIME_ZONES_MARK, TIME_ZONES_SCHEMA, timeZonesSchema } from '../scripts/lib/time-zones.ts';
import { createValidator } from '../scripts/lib/validate.ts';

const checkedIn = readFileSync(join(schemasDir, TIME_ZONES_SCHEMA), 'utf8');

describe('schemas/time-zones.schema.yaml', () => {
  it("lists exactly the zones of this machine's Go tzdata, and says it is generated", async () => {
    const { goVersion, names } = await goTimeZones();
    expect(names.length).toBeGreaterThan(400);
    expect(names).toEqual(expect.arrayContaining(['Etc/UTC', 'UTC', 'Europe/Madrid', 'America/Argentina/Buenos_Aires']));
    expect(namesInSchema(checkedIn)).toEqual(names);
    expect(checkedIn.startsWith(`# ${TIME_ZONES_MARK}`)).toBe(true);
    // the whole text is what the generator writes (only the Go version in the comment may differ)
    const version = /\((go[^:]+): \d+ names\)/.exec(checkedIn)?.[1];
    expect(version, 'the comment names the Go it came from').toMatch(/^go1\./);
    expect(timeZonesSchema(names, version!)).toBe(checkedIn);
    expect(goVersion).toMatch(/^go1\./);
  });
});

describe('backup.timeZone', () => {
  const validator = createValidator();
  const check = (zone: string) =>
    validator.validate('values/values-dev.yaml', Buffer.from(`global:\n  environment: dev\nbackup:\n  timeZone: ${JSON.stringify(zone)}\n`)).map((d) => d.message);

  it.each(['Europe/Madrid', 'Etc/UTC', 'UTC', 'America/Argentina/Buenos_Aires', 'Etc/GMT+5', ''])('accepts %j', (zone) => {
    expect(check(zone)).toEqual([]);
  });

  // "Local" is refused by name; the rest are names time.LoadLocation cannot load
  it.each(['Local', 'europe/madrid', 'Europe/Atlantis', 'Madrid', '../etc/passwd', 'Europe/Madrid '])('refuses %j, saying what a zone is', (zone) => {
    expect(check(zone)).toEqual([expect.stringContaining('is not a time zone the API server can load')]);
  });

  it('the README row names the count, not 600 values', () => {
    const row = readFileSync(join(repoRoot, 'charts', 'backup', 'README.md'), 'utf8').split('\n').find((line) => line.startsWith('| `timeZone` |'));
    expect(row).toMatch(/\| string \(one of \d+ names\) \|/);
  });
});
