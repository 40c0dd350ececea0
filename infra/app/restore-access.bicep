// What the Function App's identity may do in one resource group that DELTAVAULT_RESTORE_TARGETS
// names for restores to new managed disks. Deployed by main.bicep at that resource group's scope,
// once per restore group; protected groups never get disk write access from deltavault.
//
// The built-in "Disk Restore Operator" grants disks/read and disks/write but not
// beginGetAccess/endGetAccess, without which an upload disk can be created but never written to
// or finalized; "VM Restore Operator" adds virtual machines and networking deltavault never
// touches. So the exact actions are a custom role, assignable only here.
@description('Principal id of the Function App\'s user-assigned identity.')
param principalId string
@description('Names the custom role (tenant-wide unique) after the azd environment.')
param environmentName string
@description('Also grant "Data Operator for Managed Disks" (needed when the new disks require Entra ID for data access).')
param entraDiskDataAccess bool = false

var roles = loadJsonContent('../core/security/builtin-roles.json')

resource restoreRole 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(resourceGroup().id, environmentName, 'deltavault-disk-restore-operator')
  properties: {
    roleName: 'deltavault disk restore operator (${environmentName}, ${resourceGroup().name}, ${take(uniqueString(resourceGroup().id), 6)})'
    description: 'deltavault restores: create a new managed disk for upload, write a recovery point into it through a write SAS, and finalize it.'
    type: 'CustomRole'
    permissions: [
      {
        actions: [
          // Create the new disk (createOption Upload) and read its state; an existing disk is never the target.
          'Microsoft.Compute/disks/read'
          'Microsoft.Compute/disks/write'
          // Delete the disk of a failed restore; deltavault deletes only a disk tagged with that restore's id.
          'Microsoft.Compute/disks/delete'
          // A write SAS for the upload, revoked to finalize the disk; then a read SAS to read the disk back and verify it.
          'Microsoft.Compute/disks/beginGetAccess/action'
          'Microsoft.Compute/disks/endGetAccess/action'
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

// deltavault disk restore operator (the custom role above) on this restore resource group: a
// restore to a managed disk creates a new upload disk here, writes the recovery point's allocated
// ranges through the write SAS, and revokes the SAS to make the disk usable.
resource restores 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(resourceGroup().id, principalId, restoreRole.id)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', restoreRole.name)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

// Data Operator for Managed Disks on this restore resource group, only when asked for: uploading
// to a disk with dataAccessAuthMode AzureActiveDirectory wants an Entra token with the upload data
// action next to the SAS. It adds no other control-plane right.
resource uploadData 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (entraDiskDataAccess) {
  name: guid(resourceGroup().id, principalId, roles.dataOperatorForManagedDisks.id)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.dataOperatorForManagedDisks.id)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}
