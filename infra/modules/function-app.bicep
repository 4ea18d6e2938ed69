metadata description = 'OKAP Vault function app on Flex Consumption (.NET isolated). Runs only under the user-assigned managed identity: identity-based host storage, deployment container, Key Vault, Table Storage and Application Insights. Optional Microsoft Entra authentication (App Service Authentication) and optional lock-down to one Azure Front Door profile.'

@description('Name of the function app (globally unique; becomes <name>.azurewebsites.net).')
param name string

@description('Azure region of the function app (same as its plan).')
param location string

@description('Tags applied to the function app.')
param tags object = {}

@description('Resource id of the Flex Consumption plan.')
param planResourceId string

@description('Resource id of the user-assigned managed identity the app runs as.')
param identityResourceId string

@description('Client id of the user-assigned managed identity.')
param identityClientId string

@description('Name of the storage account used for AzureWebJobsStorage (identity-based).')
param storageAccountName string

@description('Blob endpoint of the storage account, with trailing slash.')
param storageBlobEndpoint string

@description('Blob container that holds this app\'s Flex Consumption deployment package.')
param deploymentContainerName string

@description('Table endpoint used by the vault (Okap__Azure__TableServiceUri).')
param tableEndpoint string

@description('Key Vault URI used by the vault (Okap__Azure__KeyVaultUri).')
param keyVaultUri string

@description('Name of the Application Insights component (in this resource group) that receives telemetry.')
param appInsightsName string

@description('Public base URL of the vault (Okap__PublicUrl). Empty: the app\'s own https://<defaultHostName>.')
param publicUrl string = ''

@description('Base domain for host-based addressing (Okap__Addressing__BaseDomain). Empty disables it.')
param addressingBaseDomain string = ''

@description('The proxy\'s own origin (Okap__Proxy__PublicUrl), e.g. https://api.vault.example.com: base_urls name it, the proxy answers only there and the page never does. Empty: the proxy shares the page\'s origin.')
param proxyPublicUrl string = ''

@description('Header the edge sets to the host the client asked for (Okap__Proxy__OriginHostHeader), since Front Door sends each origin its own host name. Used with proxyPublicUrl.')
param originHostHeader string = ''

@description('.NET isolated worker runtime version.')
param dotnetVersion string = '10.0'

@description('Memory per instance in MB.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Maximum number of instances the app scales out to.')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 100

@description('Enable App Service Authentication with Microsoft Entra ID. Unauthenticated requests are still let through (the app decides per route).')
param enableEntraAuth bool = false

@description('Application (client) id of the Entra app registration used by App Service Authentication.')
param authClientId string = ''

@description('OpenID issuer URL, for example https://login.microsoftonline.com/<tenant>/v2.0.')
param authOpenIdIssuer string = ''

@description('Audiences accepted in bearer tokens. Empty: the client id and api://<client id>.')
param authAllowedAudiences string[] = []

@description('NAME of the app setting that holds the Entra client secret (never the secret itself). Empty: no client secret (token validation only, no interactive login).')
#disable-next-line secure-secrets-in-params // a setting name, not a secret value
param authClientSecretSettingName string = ''

@description('Name of a Key Vault secret holding the Entra client secret. When set (with authClientSecretSettingName), that app setting becomes a Key Vault reference resolved with the managed identity.')
param authClientSecretKeyVaultSecretName string = ''

@description('Key Vault name, used for the optional client secret Key Vault reference.')
param keyVaultName string = ''

@description('Front Door profile id (X-Azure-FDID). When set, inbound traffic is only accepted from that Front Door profile.')
param frontDoorId string = ''

@description('Service name tag for azd (azd-service-name). Empty: no tag.')
param azdServiceName string = ''

var restrictToFrontDoor = !empty(frontDoorId)
var useClientSecret = enableEntraAuth && !empty(authClientSecretSettingName)
var useClientSecretReference = useClientSecret && !empty(authClientSecretKeyVaultSecretName) && !empty(keyVaultName)

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: appInsightsName
}

resource site 'Microsoft.Web/sites@2024-04-01' = {
  name: name
  location: location
  tags: empty(azdServiceName) ? tags : union(tags, { 'azd-service-name': azdServiceName })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityResourceId}': {}
    }
  }
  properties: {
    serverFarmId: planResourceId
    httpsOnly: true
    clientAffinityEnabled: false
    keyVaultReferenceIdentity: identityResourceId
    siteConfig: {
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      ipSecurityRestrictionsDefaultAction: restrictToFrontDoor ? 'Deny' : 'Allow'
      ipSecurityRestrictions: restrictToFrontDoor
        ? [
            {
              name: 'Allow-AzureFrontDoor'
              description: 'Only this Front Door profile may reach the app.'
              action: 'Allow'
              priority: 100
              tag: 'ServiceTag'
              ipAddress: 'AzureFrontDoor.Backend'
              headers: {
                'x-azure-fdid': [
                  frontDoorId
                ]
              }
            }
          ]
        : []
      scmIpSecurityRestrictionsUseMain: false
      scmIpSecurityRestrictionsDefaultAction: 'Allow'
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storageBlobEndpoint}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityResourceId
          }
        }
      }
      scaleAndConcurrency: {
        instanceMemoryMB: instanceMemoryMB
        maximumInstanceCount: maximumInstanceCount
      }
      runtime: {
        name: 'dotnet-isolated'
        version: dotnetVersion
      }
    }
  }
}

var baseSettings = {
  // Functions host storage: identity-based, no account key.
  AzureWebJobsStorage__accountName: storageAccountName
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identityClientId
  // DefaultAzureCredential / ManagedIdentityCredential pick the user-assigned identity.
  AZURE_CLIENT_ID: identityClientId
  // Application Insights with Entra (managed identity) authentication; local auth is disabled on the component.
  APPLICATIONINSIGHTS_CONNECTION_STRING: appInsights.properties.ConnectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
  // The worker's OpenTelemetry exporter (src/Okap.Telemetry) sends with the same identity; no exporter self-reports.
  Okap__Telemetry__AzureMonitorManagedIdentityClientId: identityClientId
  APPLICATIONINSIGHTS_STATSBEAT_DISABLED: 'true'
  // OKAP Vault.
  Okap__PublicUrl: empty(publicUrl) ? 'https://${site.properties.defaultHostName}' : publicUrl
  Okap__Store: 'Azure'
  Okap__Azure__TableServiceUri: tableEndpoint
  Okap__Azure__ManagedIdentityClientId: identityClientId
  Okap__Azure__KeyVaultUri: keyVaultUri
  Okap__Auth__TrustAppServicePrincipal: enableEntraAuth ? 'true' : 'false'
  Okap__Addressing__BaseDomain: addressingBaseDomain
}

var clientSecretSetting = useClientSecretReference
  ? {
      '${authClientSecretSettingName}': '@Microsoft.KeyVault(VaultName=${keyVaultName};SecretName=${authClientSecretKeyVaultSecretName})'
    }
  : {}

resource appSettings 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: site
  name: 'appsettings'
  // The proxy's own origin, when the edge gives it one (see docs/security.md).
  properties: union(
    baseSettings,
    empty(proxyPublicUrl) ? {} : { Okap__Proxy__PublicUrl: proxyPublicUrl, Okap__Proxy__OriginHostHeader: originHostHeader },
    clientSecretSetting
  )
}

// Publishing with basic (user name / password) credentials is off: deploy with Entra ID (azd, az, func).
resource ftpCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource scmCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'scm'
  properties: {
    allow: false
  }
}

resource authSettings 'Microsoft.Web/sites/config@2024-04-01' = if (enableEntraAuth) {
  parent: site
  name: 'authsettingsV2'
  dependsOn: [
    appSettings
  ]
  properties: {
    platform: {
      enabled: true
      runtimeVersion: '~1'
    }
    globalValidation: {
      // OKAP and proxy routes are public; the app decides per route whether a principal is required.
      requireAuthentication: false
      unauthenticatedClientAction: 'AllowAnonymous'
    }
    httpSettings: {
      requireHttps: true
      forwardProxy: {
        // Behind Front Door, build redirect URLs from X-Forwarded-Host.
        convention: restrictToFrontDoor ? 'Standard' : 'NoProxy'
      }
    }
    identityProviders: {
      azureActiveDirectory: {
        enabled: true
        registration: union(
          {
            clientId: authClientId
            openIdIssuer: authOpenIdIssuer
          },
          useClientSecret ? { clientSecretSettingName: authClientSecretSettingName } : {}
        )
        validation: {
          allowedAudiences: empty(authAllowedAudiences) ? [authClientId, 'api://${authClientId}'] : authAllowedAudiences
        }
      }
    }
    login: {
      tokenStore: {
        enabled: true
      }
    }
  }
}

@description('Resource id of the function app.')
output resourceId string = site.id

@description('Name of the function app.')
output name string = site.name

@description('Default host name of the function app, for example <name>.azurewebsites.net.')
output defaultHostName string = site.properties.defaultHostName
