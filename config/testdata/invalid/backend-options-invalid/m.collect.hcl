matter "m" {}

tenant {
  cloud = "demo"
}

backend "azurerm" {
  storage_account = "acmeevidence"
}

custodian "jdoe" {
  email = "jane.doe@contoso.com"
}
