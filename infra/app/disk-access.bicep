// What the Function App's identity may do in one resource group whose managed disks deltavault
// protects. Deployed by main.bicep at that resource group's scope, once per protected group;
// nothing is granted at subscription scope.
//
// The built-in "Disk Snapshot Contributor" was the obvious candidate, but it also carries
// Microsoft.Storage/storageAccounts/listkeys/action, write and delete: in a protected resource
// group that would hand the backup identity the keys (and the deletion) of every storage account
// there. So deltavault defines the exact actions it uses as a custom role, assignable only here.
@description('Principal id of the Function App\'s user-assigned identity.')
param principalId string
@description('Names the custom role (tenant-wide unique) after the azd environment.')
param environmentName string
@description('Also grant "Data Operator for Managed Disks" (needed when disks require Entra ID for data access, dataAccessAuthMode AzureActiveDirectory).')
param entraDiskDataAccess bool = false

var roles = loadJsonContent('../core/security/builtin-roles.json')

resource snapshotRole 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(resourceGroup().id, environmentName, 'deltavault-snapshot-operator')
  properties: {
    roleName: 'deltavault snapshot operator (${environmentName}, ${resourceGroup().name}, ${take(uniqueString(resourceGroup().id), 6)})'
    description: 'deltavault backups: read managed disks and VMs, create, read and delete incremental snapshots of the disks, and grant and revoke read access to a snapshot for the copy.'
    type: 'CustomRole'
    permissions: [
      {
        actions: [
          // Read a protected disk (size, location, tags for the deltavault-policy tag selector) and list the group's disks.
          'Microsoft.Compute/disks/read'
          // Expand a protected VM into its OS and data disks when its backup starts, and list the group's VMs for the tag selector.
          'Microsoft.Compute/virtualMachines/read'
          // Create an incremental snapshot named after the job id, find it again on a retry, delete it when pruned.
          'Microsoft.Compute/snapshots/read'
          'Microsoft.Compute/snapshots/write'
          'Microsoft.Compute/snapshots/delete'
          // A short-lived read SAS for Get Page Ranges Diff and the copy, revoked when the job is done.
          'Microsoft.Compute/snapshots/beginGetAccess/action'
          'Microsoft.Compute/snapshots/endGetAccess/action'
        ]
        notActions: []
        dataActions: []
        notDataActions: []
      }
    ]
    assignableScopes: [
      resourceGroup().id
    ]
  }
}

// deltavault snapshot operator (the custom role above) on this protected resource group: every
// backup snapshots the disk, diffs the new snapshot against the last one through a read SAS, and
// prunes source snapshots that are neither a diff base nor inside the instant-restore window.
resource snapshots 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(resourceGroup().id, principalId, snapshotRole.id)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', snapshotRole.name)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

// Data Operator for Managed Disks on this protected resource group, only when asked for: a disk or
// snapshot with dataAccessAuthMode AzureActiveDirectory also wants an Entra token with the
// download data action next to the SAS. It adds no other control-plane right.
resource snapshotData 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (entraDiskDataAccess) {
  name: guid(resourceGroup().id, principalId, roles.dataOperatorForManagedDisks.id)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.dataOperatorForManagedDisks.id)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}
