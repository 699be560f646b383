matter "m" {}

tenant {
  cloud = "demo"
}

window "relevant" {
  start = "2024-01-01"
  end   = 20240701
}

custodian "jdoe" {
  email   = ["jane.doe@contoso.com"]
  windows = "relevant"
}

output {
  hashes = "md5"
}
