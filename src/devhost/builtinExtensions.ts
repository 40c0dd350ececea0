/**
 * The extensions `npm run devhost` (cli.ts) loads. The Durable Functions extension
 * (src/devhost/durable/) is listed here once it is wired in; the host core knows nothing of it.
 */
import type { DevhostExtension } from './hostTypes';

export function builtinExtensions(): DevhostExtension[] {
  return [];
}
