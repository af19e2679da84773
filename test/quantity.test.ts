import { describe, expect, it } from 'vitest';
import { formatCpu, formatMemory, parseCpu, parseMemory, resolveSurge } from '../scripts/lib/quantity.ts';

const Ki = 2 ** 10;
const Mi = 2 ** 20;
const Gi = 2 ** 30;

describe('parseCpu (millicores)', () => {
  it.each([
    ['250m', 250],
    ['1', 1000],
    ['0.5', 500],
    ['1.5', 1500],
    ['2000m', 2000],
    ['0', 0],
    [' 100m ', 100],
    [2, 2000],
    [0.25, 250],
    [0.1, 100],
  ] as const)('%j → %d', (quantity, millicores) => {
    expect(parseCpu(quantity)).toBe(millicores);
  });

  it.each(['half', '1Gi', '-1', '', '1 core', '250M'])('rejects %j', (quantity) => {
    expect(() => parseCpu(quantity)).toThrow(`not a CPU quantity: ${quantity}`);
  });
});

describe('parseMemory (bytes)', () => {
  it.each([
    ['128Mi', 128 * Mi],
    ['1Gi', Gi],
    ['1.5Gi', 1.5 * Gi],
    ['2Ki', 2 * Ki],
    ['1Ti', 2 ** 40],
    ['1G', 1e9],
    ['500k', 500_000],
    ['1M', 1e6],
    ['512', 512],
    [4096, 4096],
  ] as const)('%j → %d', (quantity, bytes) => {
    expect(parseMemory(quantity)).toBe(bytes);
  });

  it.each(['20GB', '1gi', 'Mi', '1 Gi', '-1Gi', 'lots'])('rejects %j', (quantity) => {
    expect(() => parseMemory(quantity)).toThrow(`not a memory quantity: ${quantity}`);
  });

  it('orders binary and decimal units by size', () => {
    expect(parseMemory('4G')).toBeLessThan(parseMemory('4Gi'));
    expect(parseMemory('5G')).toBeGreaterThan(parseMemory('4Gi'));
    expect(parseMemory('1024Mi')).toBe(parseMemory('1Gi'));
  });
});

describe('formatCpu', () => {
  it.each([
    [7760, '7760m'],
    [4000, '4'],
    [250, '250m'],
    [1500, '1500m'],
    [0, '0'],
  ])('%d → %s', (millicores, text) => {
    expect(formatCpu(millicores)).toBe(text);
  });

  it('round-trips through parseCpu', () => {
    for (const m of [1, 10, 250, 999, 1000, 1500, 64000]) expect(parseCpu(formatCpu(m))).toBe(m);
  });
});

describe('formatMemory', () => {
  it.each([
    [Gi, '1Gi'],
    [16 * Gi, '16Gi'],
    [2 ** 40, '1Ti'],
    [7952 * Mi, '7952Mi'],
    [1536 * Mi, '1536Mi'],
    [2 * Ki, '2Ki'],
    [1e9, '953.7Mi'],
    [100, '100'],
    [0, '0'],
  ])('%d → %s', (bytes, text) => {
    expect(formatMemory(bytes)).toBe(text);
  });
});

describe('resolveSurge', () => {
  it.each([
    [1, 10, 1],
    [0, 10, 0],
    ['25%', 10, 3],
    ['25%', 4, 1],
    ['25%', 3, 1],
    ['10%', 30, 3],
    ['0%', 10, 0],
    ['100%', 3, 3],
    ['1', 10, 1],
  ] as const)('maxSurge %j of %d replicas → %d extra pods (percentages round up)', (maxSurge, replicas, pods) => {
    expect(resolveSurge(maxSurge, replicas)).toBe(pods);
  });
});
