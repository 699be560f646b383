matter "m" {}

tenant {
  cloud = "demo"
}

custodian "jdoe" {
  email = "jane.doe@contoso.com"
}

output {
  hashes = ["sha256", "sha512", "SHA-1", "MD5"]
}
