// The one cron grammar (the five fields Kubernetes CronJobs take, as its
// parser robfig/cron reads them). From it come the schema pattern that
// schemas/definitions.schema.yaml refers to (x-generated: cron, filled in by
// scripts/lib/schema-source.ts) and the parser the cross-field rules use to
// find the longest gap between two runs.

export interface CronField {
  name: string;
  min: number;
  max: number;
  /** Three-letter names, index = value - nameBase. */
  names?: string[];
  nameBase?: number;
  /** `?` stands for `*` (day-of-month and day-of-week). */
  question?: boolean;
}

export const CRON_FIELDS: readonly CronField[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31, question: true },
  { name: 'month', min: 1, max: 12, names: ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'], nameBase: 1 },
  { name: 'day of week', min: 0, max: 7, names: ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'], nameBase: 0, question: true },
];

export const CRON_MACROS: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

/** A regex (no anchors, RE2-safe) for the integers lo..hi, each optionally with one leading zero below 10. */
export function integerRange(lo: number, hi: number): string {
  // group runs of numbers sharing their tens digit: 20-29 -> 2[0-9]
  const out: string[] = [];
  let n = lo;
  while (n <= hi) {
    if (n < 10) {
      const end = Math.min(hi, 9);
      out.push(end === n ? `0?${n}` : `0?[${n}-${end}]`);
      n = end + 1;
      continue;
    }
    const tens = Math.floor(n / 10);
    const end = Math.min(hi, tens * 10 + 9);
    out.push(end === n ? String(n) : `${tens}[${n % 10}-${end % 10}]`);
    n = end + 1;
  }
  return out.length === 1 ? (out[0] as string) : `(${out.join('|')})`;
}

/** One field: a list of `*`, `?`, values, ordered ranges, names, each with an optional step of at least 1. */
function fieldPattern(field: CronField): string {
  const value = integerRange(field.min, field.max);
  const ranges: string[] = [];
  for (let start = field.min; start < field.max; start++) {
    ranges.push(`${start < 10 ? `0?${start}` : start}-${integerRange(start, field.max)}`);
  }
  const step = `(/${integerRange(1, Math.max(field.max, 1))})?`;
  // names are case-insensitive (JS regexes have no inline (?i), so each letter is a class)
  const anyCase = (name: string) => [...name].map((c) => `[${c}${c.toLowerCase()}]`).join('');
  const name = field.names ? `(${field.names.map(anyCase).join('|')})` : '';
  const names = field.names ? `|${name}(-${name})?` : '';
  const star = field.question ? '[*?]' : '\\*';
  const item = `((${star}|${ranges.join('|')})${step}|${value}(/${integerRange(1, field.max)})?${names})`;
  return `${item}(,${item})*`;
}

/** The schema pattern of a schedule: a macro, or five fields separated by blanks. */
export function cronPattern(): string {
  const macros = Object.keys(CRON_MACROS).map((m) => m.slice(1)).join('|');
  return `^(@(${macros})|${CRON_FIELDS.map(fieldPattern).join('[ \\t]+')})$`;
}

export interface CronSchedule {
  /** Allowed values of each field (day of week 7 folded onto 0). */
  sets: Set<number>[];
  /** Whether day of month / day of week were restricted (`*` or `?` are not). */
  domRestricted: boolean;
  dowRestricted: boolean;
}

/** Parses a schedule the pattern accepts; throws with the field's name otherwise. */
export function parseCron(schedule: string): CronSchedule {
  const text = CRON_MACROS[schedule.trim()] ?? schedule.trim();
  const parts = text.split(/[ \t]+/);
  if (parts.length !== 5) throw new Error(`a schedule has 5 fields (minute hour day-of-month month day-of-week), got ${parts.length}`);
  const sets = CRON_FIELDS.map((field, i) => parseField(field, parts[i] as string));
  const dow = sets[4] as Set<number>;
  if (dow.has(7)) {
    dow.delete(7);
    dow.add(0);
  }
  const wildcard = (s: string) => /^[*?]$/.test(s);
  return { sets, domRestricted: !wildcard(parts[2] as string), dowRestricted: !wildcard(parts[4] as string) };
}

function parseField(field: CronField, text: string): Set<number> {
  const out = new Set<number>();
  const value = (s: string): number => {
    const index = field.names?.indexOf(s.toUpperCase()) ?? -1;
    const n = index >= 0 ? index + (field.nameBase ?? 0) : /^[0-9]+$/.test(s) ? Number(s) : NaN;
    if (!Number.isInteger(n) || n < field.min || n > field.max) throw new Error(`${field.name} "${s}" is outside ${field.min}-${field.max}`);
    return n;
  };
  for (const item of text.split(',')) {
    const [range = '', stepText] = item.split('/');
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!Number.isInteger(step) || step < 1) throw new Error(`${field.name} step "${stepText}" must be a whole number of at least 1`);
    let lo: number;
    let hi: number;
    if (range === '*' || (range === '?' && field.question)) {
      lo = field.min;
      hi = field.max;
    } else if (range.includes('-')) {
      const [a = '', b = ''] = range.split('-');
      lo = value(a);
      hi = value(b);
      if (lo > hi) throw new Error(`${field.name} range ${range} runs backwards`);
    } else {
      lo = value(range);
      hi = stepText === undefined ? lo : field.max;
    }
    for (let n = lo; n <= hi; n += step) out.add(n);
  }
  return out;
}

/**
 * The longest time between two consecutive runs, in minutes, over five
 * years of runs (a leap cycle and then some; day-of-month and day-of-week
 * combine with OR when both are restricted, as in cron). Infinity when it
 * runs fewer than twice in that time.
 */
export function longestGapMinutes(schedule: CronSchedule): number {
  const [minutes, hours, doms, months, dows] = schedule.sets as [Set<number>, Set<number>, Set<number>, Set<number>, Set<number>];
  const dayMinutes: number[] = [];
  for (const h of [...hours].sort((a, b) => a - b)) for (const m of [...minutes].sort((a, b) => a - b)) dayMinutes.push(h * 60 + m);
  let previous: number | undefined;
  let longest = -Infinity;
  const start = Date.UTC(2024, 0, 1);
  const days = 5 * 365 + 2;
  for (let d = 0; d < days; d++) {
    const date = new Date(start + d * 86_400_000);
    const domOk = doms.has(date.getUTCDate());
    const dowOk = dows.has(date.getUTCDay());
    const dayOk = months.has(date.getUTCMonth() + 1) && (schedule.domRestricted && schedule.dowRestricted ? domOk || dowOk : domOk && dowOk);
    if (!dayOk) continue;
    for (const m of dayMinutes) {
      const t = d * 1440 + m;
      if (previous !== undefined) longest = Math.max(longest, t - previous);
      previous = t;
    }
  }
  return longest === -Infinity ? Infinity : longest;
}

/** Why a schedule is refused, in words (the pattern says only that it is). */
export function cronProblem(schedule: string): string {
  if (/^@/.test(schedule.trim())) return `unknown macro ${schedule.trim()} (use ${Object.keys(CRON_MACROS).join(', ')})`;
  try {
    parseCron(schedule);
  } catch (err) {
    return (err as Error).message;
  }
  return 'five fields: minute (0-59) hour (0-23) day-of-month (1-31) month (1-12) day-of-week (0-7), e.g. "0 2 * * *"';
}
