/**
 * The app's way into Azure Resource Manager, built from its settings: the ARM endpoint and the
 * app's identity (ManagedIdentityCredential for `managedidentity`, with the user-assigned
 * identity's client id; DefaultAzureCredential otherwise). Built once; no request is made until
 * a client is used.
 */
import { DefaultAzureCredential, ManagedIdentityCredential, type TokenCredential } from '@azure/identity';
import type { ArmAccess } from '../azure/armAccess';
import { appSettings, type ArmSettings } from './settings';

export function armCredential(arm: ArmSettings): TokenCredential {
  if (arm.credential === 'managedidentity') return arm.clientId ? new ManagedIdentityCredential({ clientId: arm.clientId }) : new ManagedIdentityCredential();
  return new DefaultAzureCredential(arm.clientId ? { managedIdentityClientId: arm.clientId } : {});
}

export function armAccessFor(arm: ArmSettings): ArmAccess {
  return { credential: armCredential(arm), endpoint: arm.endpoint };
}

let access: ArmAccess | undefined;

/** The app's ARM access (from appSettings()), made on first use. */
export function appArmAccess(): ArmAccess {
  access ??= armAccessFor(appSettings().arm);
  return access;
}
