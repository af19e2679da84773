// Address ranges as Kubernetes compares them in a NetworkPolicy ipBlock: an
// except must be a strict subset of its cidr (pkg/apis/networking/validation:
// cidr contains the except's address, and the except's prefix is longer).
// charts/common/templates/_ipblock.tpl reads them the same way (as bit strings).

/** The address of a range in bits (32 for IPv4, 128 for IPv6) and its prefix length; undefined when unreadable. */
export function cidrBits(cidr: string): { bits: string; prefix: number } | undefined {
  const [address, prefixText] = cidr.split('/');
  if (!address || prefixText === undefined || !/^\d+$/.test(prefixText)) return undefined;
  const prefix = Number(prefixText);
  if (address.includes(':')) {
    const halves = address.split('::');
    if (halves.length > 2) return undefined;
    const head = halves[0] ? halves[0].split(':') : [];
    const tail = halves.length > 1 && halves[1] ? halves[1].split(':') : [];
    const zeros = halves.length > 1 ? Array<string>(8 - head.length - tail.length).fill('0') : [];
    const groups = [...head, ...zeros, ...tail];
    if (groups.length !== 8 || groups.some((g) => !/^[0-9a-fA-F]{1,4}$/.test(g)) || prefix > 128) return undefined;
    return { bits: groups.map((g) => parseInt(g, 16).toString(2).padStart(16, '0')).join(''), prefix };
  }
  const octets = address.split('.');
  if (octets.length !== 4 || octets.some((o) => !/^\d{1,3}$/.test(o) || Number(o) > 255) || prefix > 32) return undefined;
  return { bits: octets.map((o) => Number(o).toString(2).padStart(8, '0')).join(''), prefix };
}

/** True when `inner` lies inside `outer` with a longer prefix (same address family). */
export function isStrictSubset(inner: string, outer: string): boolean {
  const a = cidrBits(inner);
  const b = cidrBits(outer);
  if (!a || !b || a.bits.length !== b.bits.length) return false;
  return a.prefix > b.prefix && a.bits.slice(0, b.prefix) === b.bits.slice(0, b.prefix);
}
