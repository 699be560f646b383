matter "m" {
  time_zone = "America/New_York"
}

tenant {
  cloud = "demo"
}

window "relevant" {
  start = "2024-03-01"
  end   = "2024-03-01T05:00:00Z"
}

custodian "jdoe" {
  email   = "jane.doe@contoso.com"
  windows = [window.relevant]
}
