// The faults tier's fleet and namespaces (test/faults/global-setup.ts starts it).
import { ZONES } from '../../scripts/lib/cluster.ts';

/** 3 zones × 10 kwok nodes: room to drain nodes and lose a zone without running out of places. */
export const FAULT_NODES = ZONES.length * 10;
/** One namespace per test file: prod's shape under drains and a lost zone; prod scaled by its HPA; an upgrade. */
export const FAULT_NAMESPACES = { prod: 'faults-prod', scale: 'faults-scale', upgrade: 'faults-upgrade' } as const;
/** What every container in the scale test's namespace uses (kwok ClusterResourceUsage): 1 CPU against prod's 250m request (400 %), 64Mi of 256Mi. */
export const SCALE_USAGE = { cpu: '1', memory: '64Mi' };
export const RELEASE = 'shop';
