matter "m" {
  time_zone = "Local"
}

tenant {
  cloud = "demo"
}

window "relevant" {
  start = "2024-01-01"
  date  = "modified"
}

custodian "jdoe" {
  email   = "jane.doe@contoso.com"
  windows = [window.relevant]
}
