matter "m" {}

tenant {
  cloud = "demo"
}

variable "container" {
  type    = string
  default = "Acme_v_Globex"
}

backend "azurerm" {
  storage_account = "acme-evidence"
  container       = var.container
  prefix          = "matters/../other"
  endpoint        = "acmeevidence.blob.core.windows.net"
}

custodian "jdoe" {
  email = "jane.doe@contoso.com"
}
