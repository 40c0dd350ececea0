import type { RunningAzurite } from '../../src/devhost/azuriteLauncher';

export default async function globalTeardown(): Promise<void> {
  const azurite = (globalThis as Record<string, unknown>).__deltavaultAzurite as RunningAzurite | undefined;
  await azurite?.stop();
}
