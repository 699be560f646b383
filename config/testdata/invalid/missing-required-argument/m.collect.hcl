matter "m" {}

tenant {
  cloud = "demo"
}

window "relevant" {
  end = "2024-07-01"
}

custodian "jdoe" {
  name = "Jane Doe"
}

mailbox "legal" {
  type = "shared"
}
