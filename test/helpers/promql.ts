// Metric names in PromQL expressions and in Prometheus text exposition, for
// checking that what the rules and dashboards query is what exporters emit.

/** PromQL words that look like identifiers but are not metric names. */
const NOT_METRICS = new Set([
  'and', 'or', 'unless', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'offset', 'bool', 'atan2', 'inf', 'nan',
]);

/**
 * The metric names an expression selects: identifiers that are not inside a
 * string, a label matcher, a range, a grouping clause, a Grafana variable or a
 * number, and are not called as a function or aggregation.
 */
export function metricNames(expr: string): string[] {
  let s = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, ' ')
    .replace(/\$\{[^}]*\}|\$\w+/g, ' ')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\boffset\s+-?\d+[a-z]+/g, ' ');
  s = s.replace(/(^|[^A-Za-z0-9_:])(\d+(\.\d+)?([eE][+-]?\d+)?|0x[0-9a-fA-F]+)(?![A-Za-z0-9_:])/g, '$1 ');
  const names = new Set<string>();
  for (const match of s.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*/g)) {
    const name = match[0];
    const rest = s.slice((match.index ?? 0) + name.length);
    if (/^\s*\(/.test(rest) || NOT_METRICS.has(name.toLowerCase())) continue;
    names.add(name);
  }
  return [...names].sort();
}

/** The names of the series in a /metrics page (text exposition format). */
export function exposedNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const match = /^([A-Za-z_:][A-Za-z0-9_:]*)[{ ]/.exec(line);
    if (match) names.add(match[1] as string);
  }
  return names;
}
