matter "m" {}

tenant {
  cloud = "demo"
}

custodian "jdoe" {
  email = "Jane.Doe@contoso.com"
}

mailbox "jane" {
  address = "jane.doe@CONTOSO.com"
}
