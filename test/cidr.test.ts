// scripts/lib/cidr.ts: ipBlock ranges compared the way the API server does
// (an except must lie inside its cidr, with a longer prefix).
import { describe, expect, it } from 'vitest';
import { cidrBits, isStrictSubset } from '../scripts/lib/cidr.ts';

describe('cidrBits', () => {
  it('reads IPv4 as 32 bits and IPv6 as 128, expanding "::"', () => {
    expect(cidrBits('10.1.255.0/24')).toEqual({ bits: '00001010000000011111111100000000', prefix: 24 });
    expect(cidrBits('fd00::/8')).toEqual({ bits: `11111101${'0'.repeat(120)}`, prefix: 8 });
    expect(cidrBits('::1/128')).toEqual({ bits: `${'0'.repeat(127)}1`, prefix: 128 });
    expect(cidrBits('2001:db8::ff00:42:8329/64')?.bits).toBe(
      ['2001', '0db8', '0000', '0000', '0000', 'ff00', '0042', '8329'].map((g) => parseInt(g, 16).toString(2).padStart(16, '0')).join(''),
    );
  });

  it('refuses what is no range', () => {
    for (const bad of ['10.0.0.0', '10.0.0.256/8', '10.0.0/8', '10.0.0.0/33', '1::2::3/64', 'fd00::/129', 'x/8']) expect(cidrBits(bad), bad).toBeUndefined();
  });
});

describe('isStrictSubset', () => {
  it.each([
    ['10.96.0.0/12', '10.0.0.0/8', true],
    ['169.254.0.0/16', '0.0.0.0/0', true],
    ['10.0.0.0/8', '10.0.0.0/8', false], // equal: not strict
    ['10.0.0.0/8', '10.0.0.0/16', false], // wider than the cidr
    ['192.168.0.0/16', '10.0.0.0/8', false], // outside
    ['fd00:1::/32', 'fd00::/8', true],
    ['fe80::/10', 'fd00::/8', false],
    ['10.0.0.0/16', '::/0', false], // another family
  ] as const)('%s in %s: %s', (inner, outer, expected) => {
    expect(isStrictSubset(inner, outer)).toBe(expected);
  });
});
