// Kubernetes quantities as numbers: CPU in millicores, memory in bytes.
const BINARY: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };
const DECIMAL: Record<string, number> = { k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };

export function parseCpu(quantity: string | number): number {
  if (typeof quantity === 'number') return Math.round(quantity * 1000);
  const match = /^([0-9]+(?:\.[0-9]+)?)(m?)$/.exec(quantity.trim());
  if (!match) throw new Error(`not a CPU quantity: ${quantity}`);
  const value = Number(match[1]);
  return Math.round(match[2] === 'm' ? value : value * 1000);
}

export function parseMemory(quantity: string | number): number {
  if (typeof quantity === 'number') return quantity;
  const match = /^([0-9]+(?:\.[0-9]+)?)([KMGTPE]i|[kMGTPE])?$/.exec(quantity.trim());
  if (!match) throw new Error(`not a memory quantity: ${quantity}`);
  const unit = match[2];
  const factor = unit ? (BINARY[unit] ?? DECIMAL[unit] ?? 1) : 1;
  return Math.round(Number(match[1]) * factor);
}

/** A container resource amount as a number: CPU in millicores, memory in bytes (common.quantity.amount in the templates). */
export function parseAmount(resource: 'cpu' | 'memory', quantity: string | number): number {
  return resource === 'cpu' ? parseCpu(quantity) : parseMemory(quantity);
}

export function formatCpu(millicores: number): string {
  return millicores % 1000 === 0 ? String(millicores / 1000) : `${millicores}m`;
}

export function formatMemory(bytes: number): string {
  for (const unit of ['Ti', 'Gi', 'Mi', 'Ki'] as const) {
    const factor = BINARY[unit] as number;
    if (bytes >= factor && bytes % factor === 0) return `${bytes / factor}${unit}`;
  }
  if (bytes >= 2 ** 20) return `${(bytes / 2 ** 20).toFixed(1)}Mi`;
  return String(bytes);
}

/** A rollout's extra pods: an absolute count, or a percentage of the replicas rounded up (as Kubernetes does for maxSurge). */
export function resolveSurge(maxSurge: number | string, replicas: number): number {
  if (typeof maxSurge === 'number') return maxSurge;
  const match = /^([0-9]+)%$/.exec(maxSurge);
  if (!match) return Number(maxSurge);
  return Math.ceil((Number(match[1]) * replicas) / 100);
}
