// Sample parameters for OKAP Vault. Values read from environment variables let azd
// (AZURE_ENV_NAME, AZURE_LOCATION) and CI override them; the defaults work with
//   az deployment group create -g <rg> -f infra/main.bicep -p infra/main.bicepparam
using 'main.bicep'

param environmentName = readEnvironmentVariable('AZURE_ENV_NAME', 'okap-dev')

// Regions that run the vault (each gets a Flex Consumption plan + function app).
// Default: the resource group's region. For several regions behind one global
// endpoint, list them (the first is the primary) and set enableFrontDoor = true:
// param appLocations = [
//   'swedencentral'
//   'northeurope'
// ]

param storageSkuName = 'Standard_LRS'
param keyVaultSoftDeleteRetentionInDays = 90
param logRetentionInDays = 30

param instanceMemoryMB = 2048
param maximumInstanceCount = 100

// Host-based addressing, for example 'vault.example.com'. Empty: off.
param addressingBaseDomain = ''

// Microsoft Entra ID sign-in in front of the app (App Service Authentication).
param enableEntraAuth = false
param authClientId = readEnvironmentVariable('OKAP_AUTH_CLIENT_ID', '')
param authClientSecretSettingName = 'MICROSOFT_PROVIDER_AUTHENTICATION_SECRET'
param authClientSecretKeyVaultSecretName = ''

// Global edge: Azure Front Door Standard.
param enableFrontDoor = false
param frontDoorCustomDomainHostName = ''
param restrictAppsToFrontDoor = true

param tags = {
  application: 'okap-vault'
}
