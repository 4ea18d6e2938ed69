metadata name = 'OKAP Vault'
metadata description = 'OKAP Vault on Azure Functions Flex Consumption: user-assigned managed identity, Table Storage + Key Vault, Application Insights (Entra auth), optional Microsoft Entra App Service Authentication and optional Azure Front Door Standard edge with one app per region.'

targetScope = 'resourceGroup'

// ---------------------------------------------------------------------------
// Parameters
// ---------------------------------------------------------------------------

@description('Name of the environment (for example dev, prod). Seeds the unique resource names and the azd-env-name tag.')
@minLength(1)
@maxLength(64)
param environmentName string

@description('Primary region: identity, storage, Key Vault and monitoring live here. Defaults to the resource group\'s region.')
param location string = resourceGroup().location

@description('Regions that each get a Flex Consumption plan and function app (one app stack per region). The first is the primary app (tagged for azd). More than one region only makes sense with enableFrontDoor.')
@minLength(1)
param appLocations string[] = [
  location
]

@description('Tags applied to every resource.')
param tags object = {}

@description('Storage redundancy SKU of the vault\'s storage account.')
@allowed([
  'Standard_LRS'
  'Standard_ZRS'
  'Standard_GRS'
  'Standard_GZRS'
  'Standard_RAGRS'
  'Standard_RAGZRS'
])
param storageSkuName string = 'Standard_LRS'

@description('Tables to pre-create in the storage account. Optional: the vault creates its tables (for example okaptokens) at start.')
param vaultTableNames string[] = []

@description('Key Vault soft delete retention in days (7-90). Cannot be changed once the vault exists.')
@minValue(7)
@maxValue(90)
param keyVaultSoftDeleteRetentionInDays int = 90

@description('Log Analytics retention in days.')
@minValue(30)
@maxValue(730)
param logRetentionInDays int = 30

@description('.NET isolated worker version of the function app.')
param dotnetVersion string = '10.0'

@description('Memory per Flex Consumption instance, in MB.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Maximum instances per function app (Flex Consumption scale-out limit).')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 100

@description('Base domain for host-based addressing (Okap__Addressing__BaseDomain), for example vault.example.com. Empty disables it.')
param addressingBaseDomain string = ''

@description('Enable App Service Authentication (Microsoft Entra ID). Anonymous requests still reach the app, which decides per route; signed-in principals are trusted (Okap__Auth__TrustAppServicePrincipal).')
param enableEntraAuth bool = false

@description('Application (client) id of the Entra app registration. Required when enableEntraAuth is true.')
param authClientId string = ''

@description('Entra tenant id that issues tokens. Defaults to the deployment tenant.')
param authTenantId string = tenant().tenantId

@description('OpenID issuer URL. Empty: <login endpoint>/<authTenantId>/v2.0.')
param authOpenIdIssuer string = ''

@description('Token audiences accepted. Empty: the client id and api://<client id>.')
param authAllowedAudiences string[] = []

@description('NAME of the app setting holding the Entra client secret (not the secret). Empty: no client secret, bearer token validation only.')
#disable-next-line secure-secrets-in-params // a setting name, not a secret value
param authClientSecretSettingName string = 'MICROSOFT_PROVIDER_AUTHENTICATION_SECRET'

@description('Optional Key Vault secret name holding the Entra client secret. When set, the setting named by authClientSecretSettingName becomes a Key Vault reference resolved with the managed identity.')
param authClientSecretKeyVaultSecretName string = ''

@description('Put Azure Front Door Standard in front of the function app(s): global anycast edge, HTTPS redirect, health-probed failover across appLocations.')
param enableFrontDoor bool = false

@description('Custom host name served by Front Door, for example vault.example.com (needs a CNAME and a TXT validation record). Empty: the azurefd.net host name.')
param frontDoorCustomDomainHostName string = ''

@description('Optional second custom host name on Front Door for the vault\'s proxy alone, for example api.vault.example.com (a CNAME and a TXT validation record, like the first). Token base_urls then name it, the proxy answers only there and the page never does, so an upstream\'s answer can never run on the page\'s origin. Needs enableFrontDoor.')
param frontDoorProxyCustomDomainHostName string = ''

@description('When Front Door is enabled, accept inbound traffic to the function apps only from this Front Door profile (AzureFrontDoor.Backend service tag + X-Azure-FDID header).')
param restrictAppsToFrontDoor bool = true

@description('Path probed by Front Door on each origin: /okap/ready answers 503 while the app cannot reach Table Storage or Key Vault, so Front Door fails over to an origin that can (/okap/health only says the process is up).')
param healthProbePath string = '/okap/ready'

// ---------------------------------------------------------------------------
// Names and constants
// ---------------------------------------------------------------------------

var resourceToken = toLower(uniqueString(subscription().id, resourceGroup().id, environmentName))
var allTags = union(tags, { 'azd-env-name': environmentName })

var identityName = 'id-okap-${resourceToken}'
var storageAccountName = 'stokap${resourceToken}'
var keyVaultName = 'kv-okap-${resourceToken}'
var logAnalyticsName = 'log-okap-${resourceToken}'
var appInsightsName = 'appi-okap-${resourceToken}'
var frontDoorProfileName = 'afd-okap-${resourceToken}'
var frontDoorEndpointName = 'okap-${resourceToken}'

// One app stack per region; the per-region token keeps names (and so the Functions host ids,
// which are the first 32 characters of the app name) distinct in the shared storage account.
var apps = [
  for (appLocation, i) in appLocations: {
    location: appLocation
    planName: 'plan-okap-${take(uniqueString(resourceToken, appLocation, string(i)), 13)}'
    appName: 'func-okap-${take(uniqueString(resourceToken, appLocation, string(i)), 13)}'
    deploymentContainerName: 'app-package-${take(uniqueString(resourceToken, appLocation, string(i)), 13)}'
  }
]

// Built-in role definition ids.
var roles = {
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
  keyVaultSecretsOfficer: 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7'
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb'
}

var openIdIssuer = empty(authOpenIdIssuer)
  ? '${environment().authentication.loginEndpoint}${authTenantId}/v2.0'
  : authOpenIdIssuer

// ---------------------------------------------------------------------------
// Shared resources (primary region)
// ---------------------------------------------------------------------------

module identity 'modules/managed-identity.bicep' = {
  name: 'okap-identity'
  params: {
    name: identityName
    location: location
    tags: allTags
  }
}

module storage 'modules/storage-account.bicep' = {
  name: 'okap-storage'
  params: {
    name: storageAccountName
    location: location
    tags: allTags
    skuName: storageSkuName
    containerNames: [for app in apps: app.deploymentContainerName]
    tableNames: vaultTableNames
    roleAssignments: [
      {
        // Vault tables, and the Functions host (identity-based AzureWebJobsStorage).
        roleDefinitionId: roles.storageTableDataContributor
        principalId: identity.outputs.principalId
        principalType: 'ServicePrincipal'
        description: 'OKAP Vault: vault tables'
      }
      {
        // Functions host storage (leases, keys) and Flex Consumption deployment packages.
        roleDefinitionId: roles.storageBlobDataOwner
        principalId: identity.outputs.principalId
        principalType: 'ServicePrincipal'
        description: 'OKAP Vault: host storage and deployment packages'
      }
      {
        // Functions host storage (queues used by the host and by blob-triggered scenarios).
        roleDefinitionId: roles.storageQueueDataContributor
        principalId: identity.outputs.principalId
        principalType: 'ServicePrincipal'
        description: 'OKAP Vault: Functions host queues'
      }
    ]
  }
}

module keyVault 'modules/key-vault.bicep' = {
  name: 'okap-key-vault'
  params: {
    name: keyVaultName
    location: location
    tags: allTags
    softDeleteRetentionInDays: keyVaultSoftDeleteRetentionInDays
    roleAssignments: [
      {
        roleDefinitionId: roles.keyVaultSecretsOfficer
        principalId: identity.outputs.principalId
        principalType: 'ServicePrincipal'
        description: 'OKAP Vault: provider API key secrets'
      }
    ]
  }
}

module logAnalytics 'modules/log-analytics.bicep' = {
  name: 'okap-log-analytics'
  params: {
    name: logAnalyticsName
    location: location
    tags: allTags
    retentionInDays: logRetentionInDays
  }
}

module appInsights 'modules/app-insights.bicep' = {
  name: 'okap-app-insights'
  params: {
    name: appInsightsName
    location: location
    tags: allTags
    workspaceResourceId: logAnalytics.outputs.resourceId
    roleAssignments: [
      {
        roleDefinitionId: roles.monitoringMetricsPublisher
        principalId: identity.outputs.principalId
        principalType: 'ServicePrincipal'
        description: 'OKAP Vault: telemetry with Entra authentication'
      }
    ]
  }
}

// ---------------------------------------------------------------------------
// Optional global edge: Azure Front Door Standard
// ---------------------------------------------------------------------------

module frontDoor 'modules/front-door.bicep' = if (enableFrontDoor) {
  name: 'okap-front-door'
  params: {
    profileName: frontDoorProfileName
    endpointName: frontDoorEndpointName
    tags: allTags
    customDomainHostName: frontDoorCustomDomainHostName
    proxyCustomDomainHostName: frontDoorProxyCustomDomainHostName
  }
}

var edgePublicUrl = enableFrontDoor ? 'https://${frontDoor.?outputs.publicHostName ?? ''}' : ''
var edgeProxyPublicUrl = enableFrontDoor && !empty(frontDoorProxyCustomDomainHostName) ? 'https://${frontDoorProxyCustomDomainHostName}' : ''
var originHostHeader = 'X-Okap-Origin-Host'
var edgeFrontDoorId = enableFrontDoor && restrictAppsToFrontDoor ? (frontDoor.?outputs.frontDoorId ?? '') : ''

// ---------------------------------------------------------------------------
// App stacks: one Flex Consumption plan + function app per region
// ---------------------------------------------------------------------------

module plans 'modules/app-service-plan.bicep' = [
  for (app, i) in apps: {
    name: 'okap-plan-${i}'
    params: {
      name: app.planName
      location: app.location
      tags: allTags
    }
  }
]

module functionApps 'modules/function-app.bicep' = [
  for (app, i) in apps: {
    name: 'okap-function-app-${i}'
    dependsOn: [
      appInsights // read by name inside the module (compile-time names keep What-If precise)
    ]
    params: {
      name: app.appName
      location: app.location
      tags: allTags
      azdServiceName: i == 0 ? 'vault' : ''
      planResourceId: plans[i].outputs.resourceId
      identityResourceId: identity.outputs.resourceId
      identityClientId: identity.outputs.clientId
      storageAccountName: storage.outputs.name
      storageBlobEndpoint: storage.outputs.blobEndpoint
      deploymentContainerName: app.deploymentContainerName
      tableEndpoint: storage.outputs.tableEndpoint
      keyVaultUri: keyVault.outputs.uri
      keyVaultName: keyVault.outputs.name
      appInsightsName: appInsightsName
      publicUrl: edgePublicUrl
      proxyPublicUrl: edgeProxyPublicUrl
      originHostHeader: originHostHeader
      addressingBaseDomain: addressingBaseDomain
      dotnetVersion: dotnetVersion
      instanceMemoryMB: instanceMemoryMB
      maximumInstanceCount: maximumInstanceCount
      enableEntraAuth: enableEntraAuth
      authClientId: authClientId
      authOpenIdIssuer: openIdIssuer
      authAllowedAudiences: authAllowedAudiences
      authClientSecretSettingName: authClientSecretSettingName
      authClientSecretKeyVaultSecretName: authClientSecretKeyVaultSecretName
      frontDoorId: edgeFrontDoorId
    }
  }
]

module frontDoorRouting 'modules/front-door-routing.bicep' = if (enableFrontDoor) {
  name: 'okap-front-door-routing'
  params: {
    profileName: frontDoorProfileName
    endpointName: frontDoorEndpointName
    originHostNames: [for (app, i) in apps: functionApps[i].outputs.defaultHostName]
    customDomainResourceId: frontDoor.?outputs.customDomainResourceId ?? ''
    proxyCustomDomainResourceId: frontDoor.?outputs.proxyCustomDomainResourceId ?? ''
    separateProxy: !empty(frontDoorProxyCustomDomainHostName)
    originHostHeader: originHostHeader
    healthProbePath: healthProbePath
  }
}

// ---------------------------------------------------------------------------
// Outputs (no secrets: no keys, no connection strings)
// ---------------------------------------------------------------------------

@description('Public URL of the vault: the Front Door URL when the edge is enabled, else the primary function app\'s URL.')
output vaultUrl string = enableFrontDoor ? edgePublicUrl : 'https://${functionApps[0].outputs.defaultHostName}'

@description('Names of the function apps, primary first.')
output functionAppNames string[] = [for (app, i) in apps: functionApps[i].outputs.name]

@description('Default host names of the function apps, primary first.')
output functionAppHostNames string[] = [for (app, i) in apps: functionApps[i].outputs.defaultHostName]

@description('Name of the storage account (vault tables, host storage, deployment packages).')
output storageAccountName string = storage.outputs.name

@description('Table endpoint of the storage account.')
output storageTableEndpoint string = storage.outputs.tableEndpoint

@description('Name of the Key Vault.')
output keyVaultName string = keyVault.outputs.name

@description('URI of the Key Vault.')
output keyVaultUri string = keyVault.outputs.uri

@description('Client id of the user-assigned managed identity the app runs as.')
output identityClientId string = identity.outputs.clientId

@description('Principal (object) id of the user-assigned managed identity.')
output identityPrincipalId string = identity.outputs.principalId

@description('Name of the Application Insights component.')
output appInsightsName string = appInsights.outputs.name

@description('Front Door endpoint host name, or empty when the edge is disabled.')
output frontDoorEndpointHostName string = enableFrontDoor ? (frontDoor.?outputs.endpointHostName ?? '') : ''
