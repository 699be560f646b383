matter " " {
  description = "Acme Corp. v. Globex Inc."
}

tenant {
  cloud = "demo"
}

window "relevant" {
  start = "2024-01-01"
}

custodian "jdoe" {
  email   = "jane.doe@contoso.com"
  windows = [window.relevant]
}
