matter "m" {}

tenant {
  cloud = "demo"
}

window "typo" {
  start = "2004-01-01"
  end   = "2024-07-01"
}

window "open_since_2014" {
  start = "2014-01-01"
}

custodian "jdoe" {
  email   = "jane.doe@contoso.com"
  windows = [window.typo, window.open_since_2014]
}
