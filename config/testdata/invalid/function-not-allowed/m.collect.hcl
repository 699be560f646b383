matter "m" {}

tenant {
  cloud = "demo"
}

window "relevant" {
  start = formatdate("YYYY-MM-DD", timestamp())
}

custodian "jdoe" {
  email   = lower(file("custodian.txt"))
  windows = [window.relevant]
}
