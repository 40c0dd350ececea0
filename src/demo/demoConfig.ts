/**
 * The demo: what `npm start` protects when no protection config is given. One policy, `demo`,
 * backs up one page blob of the vault account's emulator, `demo-disks/demo/disk.vhd` (seeded and
 * kept changing by demoDisk.ts), every minute, keeping the last 5 recovery points.
 */
import type { Settings } from '../config/settings';
import { parseProtectionConfig, type ProtectionConfig, type ProtectionConfigDocument } from '../config/protectionConfig';

export const DEMO = {
  container: 'demo-disks',
  blobName: 'demo/disk.vhd',
  /** 1 GiB, sparse. */
  sizeBytes: 1024 * 1024 * 1024,
  policy: 'demo',
  diskKey: 'demo-disk',
  /** Second 0 of every minute (NCRONTAB with seconds). */
  schedule: '0 */1 * * * *',
  keepLast: 5,
} as const;

/** Where the demo config says it came from (the `<where>` of its problems, should it ever have one). */
export const DEMO_CONFIG_WHERE = 'the demo config (DELTAVAULT_CONFIG is not set)';

/** Whether the app runs the demo: no protection config given. */
export function usesDemoConfig(settings: Settings): boolean {
  return settings.config === undefined;
}

/** The demo disk's URL: the page blob in the vault account (`<blob service>/demo-disks/demo/disk.vhd`). */
export function demoDiskUrl(settings: Settings): string {
  return `${settings.vault.blobServiceUrl}/${DEMO.container}/${DEMO.blobName}`;
}

/** The demo's protection config as a document (what a DELTAVAULT_CONFIG file would say). */
export function demoConfigDocument(settings: Settings): ProtectionConfigDocument {
  return {
    policies: [{ name: DEMO.policy, schedule: DEMO.schedule, retention: { keepLast: DEMO.keepLast } }],
    disks: [{ source: demoDiskUrl(settings), policy: DEMO.policy, key: DEMO.diskKey }],
  };
}

/** The demo's protection config, validated like any other. */
export function demoConfig(settings: Settings): ProtectionConfig {
  return parseProtectionConfig(demoConfigDocument(settings), DEMO_CONFIG_WHERE);
}
