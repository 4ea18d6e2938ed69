// Test parameters: the global edge on, two regions, a custom domain (and one for the proxy alone) and Entra auth.
using '../../../infra/main.bicep'

param environmentName = 'okap-edge-test'
param location = 'swedencentral'
param appLocations = [
  'swedencentral'
  'northeurope'
]
param enableFrontDoor = true
param frontDoorCustomDomainHostName = 'vault.example.com'
param frontDoorProxyCustomDomainHostName = 'api.vault.example.com'
param restrictAppsToFrontDoor = true
param enableEntraAuth = true
param authClientId = '00000000-0000-0000-0000-000000000001'
param authClientSecretKeyVaultSecretName = 'entra-client-secret'
param addressingBaseDomain = 'vault.example.com'
