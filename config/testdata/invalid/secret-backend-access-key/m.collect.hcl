matter "m" {}

tenant {
  cloud = "demo"
}

backend "azurerm" {
  storage_account   = "acmeevidence"
  container         = "acme-v-globex"
  access_key        = "c2VjcmV0LXN0b3JhZ2Uta2V5"
  connection_string = "DefaultEndpointsProtocol=https;AccountName=acmeevidence;AccountKey=a2V5LWluLWNvbm4="
}

custodian "jdoe" {
  email = "jane.doe@contoso.com"
}
