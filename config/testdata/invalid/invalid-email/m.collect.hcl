matter "m" {}

tenant {
  cloud = "demo"
}

custodian "no_at" {
  email = "jane.doe.contoso.com"
}

custodian "display_name" {
  email = "Jane Doe <jane.doe@contoso.com>"
}

custodian "no_dot" {
  email = "jane.doe@contoso"
}

custodian "spaces" {
  email = " jane.doe@contoso.com"
}

mailbox "two" {
  address = "legal@contoso.com, hr@contoso.com"
}
