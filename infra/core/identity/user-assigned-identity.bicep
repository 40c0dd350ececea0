// A user-assigned managed identity. deltavault's Function App runs as this identity; every
// storage, monitoring and disk permission is granted to it, never to the app's own system identity,
// so the grants survive a re-created app and can be reviewed in one place.
param name string
param location string = resourceGroup().location
param tags object = {}

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: name
  location: location
  tags: tags
}

output id string = identity.id
output name string = identity.name
output clientId string = identity.properties.clientId
output principalId string = identity.properties.principalId
