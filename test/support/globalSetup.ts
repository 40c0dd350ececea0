/** Starts one Azurite (in memory, free ports) for the whole test run; tests read its
 *  connection string from DELTAVAULT_TEST_STORAGE and use unique container names. */
import { startAzurite } from '../../src/devhost/azuriteLauncher';

export default async function globalSetup(): Promise<void> {
  const azurite = await startAzurite();
  process.env.DELTAVAULT_TEST_STORAGE = azurite.connectionString;
  process.env.DELTAVAULT_TEST_AZURITE_PID = String(azurite.pid);
  (globalThis as Record<string, unknown>).__deltavaultAzurite = azurite;
}
