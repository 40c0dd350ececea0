/** The Durable Functions engine of the devhost (see extension.ts for the entry point). */
export { createDurableExtension, type DurableExtension, type DurableExtensionOptions } from './extension';
export { DurableEngine, type EngineOptions } from './engine';
export { MemoryStore, type DurableStore } from './store';
export { TableStore, storageNames } from './tableStore';
export { readDurableConfig, type DurableConfig } from './config';
