matter "m" {}

tenant {
  cloud = "demo"
}

window "relevant" {
  start = "2024-01-01"
}

custodian "jdoe" {
  email   = "jane.doe@contoso.com"
  windows = [window["relevant"]]
}

mailbox "legal" {
  address    = "legal@contoso.com"
  custodians = [custodian["jdoe"], custodian.jdoe.name]
}
