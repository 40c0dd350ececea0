/**
 * The extensions `npm run devhost` (cli.ts) loads: today the Durable Functions engine
 * (src/devhost/durable/). It opens no storage for an app without durable functions.
 */
import { createDurableExtension } from './durable';
import type { DevhostExtension } from './hostTypes';

export function builtinExtensions(): DevhostExtension[] {
  return [createDurableExtension()];
}
