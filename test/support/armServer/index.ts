/** The ARM test server (issue 5): see server.ts for the API and test/README.md for how it works. */
export { startArmServer, staticTokenCredential, DISK_API_VERSIONS, VM_API_VERSIONS } from './server';
export type { ArmServerOptions, ArmTestServer, ArmRecords, RequestRecord } from './server';
export type { FaultSpec, FaultKind, Fault, ArmOperationKind } from './faults';
export type { GrantRecord, GrantAccessLevel } from './accessGrants';
export type { OperationRecord, OperationStatus } from './operations';
export { AZURE_LIMITS, type ArmLimits } from './limits';
export { ArmError, armErrors } from './armErrors';
