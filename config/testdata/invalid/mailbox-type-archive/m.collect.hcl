matter "m" {}

tenant {
  cloud = "demo"
}

custodian "jdoe" {
  email = "jane.doe@contoso.com"
}

mailbox "jdoe_archive" {
  address    = "jane.doe@contoso.com"
  type       = "archive"
  custodians = [custodian.jdoe]
}

mailbox "legal" {
  address = "legal@contoso.com"
  type    = "shard"
}
