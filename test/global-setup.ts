// Extracts both helm majors and builds chart dependencies once per test run.
import { buildDependencies } from '../scripts/lib/render.ts';
import { helmMatrix } from '../scripts/lib/helm.ts';

export default async function setup(): Promise<void> {
  const [helm4] = await helmMatrix();
  if (!helm4) throw new Error('no helm 4');
  await buildDependencies(helm4);
}
