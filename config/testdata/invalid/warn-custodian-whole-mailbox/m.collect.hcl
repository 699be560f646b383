matter "m" {}

tenant {
  cloud = "demo"
}

custodian "jdoe" {
  email = "jane.doe@contoso.com"
}

mailbox "legal" {
  address    = "legal@contoso.com"
  custodians = [custodian.jdoe]
}
