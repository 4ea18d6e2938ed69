metadata description = 'Azure Front Door Standard profile, endpoint and optional custom domain (managed certificate, TLS 1.2) in front of OKAP Vault. Origins and the route are added by front-door-routing.bicep once the function apps exist.'

@description('Name of the Front Door profile.')
param profileName string

@description('Name of the Front Door endpoint (its host name is <name>-<hash>.z01.azurefd.net).')
param endpointName string

@description('Tags applied to the Front Door resources.')
param tags object = {}

@description('Optional custom host name, for example vault.example.com. Empty: only the azurefd.net endpoint is used.')
param customDomainHostName string = ''

@description('Seconds Front Door waits for the origin to respond (16-240). Long because AI provider calls proxied by the vault can be slow.')
@minValue(16)
@maxValue(240)
param originResponseTimeoutSeconds int = 240

@description('Optional second custom host name for the vault\'s proxy alone, for example api.vault.example.com: proxied provider answers then live on an origin that holds no page and no cookie. Empty: the proxy shares the page\'s host.')
param proxyCustomDomainHostName string = ''

var useCustomDomain = !empty(customDomainHostName)
var useProxyDomain = !empty(proxyCustomDomainHostName)

resource profile 'Microsoft.Cdn/profiles@2024-02-01' = {
  name: profileName
  location: 'global'
  tags: tags
  sku: {
    name: 'Standard_AzureFrontDoor'
  }
  properties: {
    originResponseTimeoutSeconds: originResponseTimeoutSeconds
  }
}

resource endpoint 'Microsoft.Cdn/profiles/afdEndpoints@2024-02-01' = {
  parent: profile
  name: endpointName
  location: 'global'
  tags: tags
  properties: {
    enabledState: 'Enabled'
  }
}

resource customDomain 'Microsoft.Cdn/profiles/customDomains@2024-02-01' = if (useCustomDomain) {
  parent: profile
  name: replace(customDomainHostName, '.', '-')
  properties: {
    hostName: customDomainHostName
    tlsSettings: {
      certificateType: 'ManagedCertificate'
      minimumTlsVersion: 'TLS12'
    }
  }
}

resource proxyCustomDomain 'Microsoft.Cdn/profiles/customDomains@2024-02-01' = if (useProxyDomain) {
  parent: profile
  name: replace(proxyCustomDomainHostName, '.', '-')
  properties: {
    hostName: proxyCustomDomainHostName
    tlsSettings: {
      certificateType: 'ManagedCertificate'
      minimumTlsVersion: 'TLS12'
    }
  }
}

@description('Name of the Front Door profile.')
output profileName string = profile.name

@description('Name of the Front Door endpoint.')
output endpointName string = endpoint.name

@description('Front Door id, sent to origins in the X-Azure-FDID header; used to lock the function apps to this profile.')
output frontDoorId string = profile.properties.frontDoorId

@description('Host name of the Front Door endpoint, for example okap-xxxx.z01.azurefd.net.')
output endpointHostName string = endpoint.properties.hostName

@description('Resource id of the custom domain, or empty when none is configured.')
output customDomainResourceId string = useCustomDomain ? customDomain.id : ''

@description('Resource id of the proxy\'s own custom domain, or empty when none is configured.')
output proxyCustomDomainResourceId string = useProxyDomain ? proxyCustomDomain.id : ''

@description('Public host name clients use: the custom domain if configured, else the endpoint host name.')
output publicHostName string = useCustomDomain ? customDomainHostName : endpoint.properties.hostName
