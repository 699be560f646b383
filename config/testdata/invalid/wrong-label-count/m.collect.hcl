matter "m" {}

tenant "contoso" {
  cloud = "demo"
}

window {
  start = "2024-01-01"
}

custodian "jdoe" "jane" {
  email = "jane.doe@contoso.com"
}

output "out" {
  path = "collection"
}
