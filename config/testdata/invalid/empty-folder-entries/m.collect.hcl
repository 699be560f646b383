matter "m" {}

tenant {
  cloud = "demo"
}

window "relevant" {
  start = "2024-01-01"
}

custodian "jdoe" {
  email   = "jane.doe@contoso.com"
  windows = [window.relevant]

  folders {
    include = ["inbox", "/"]
    exclude = [" "]
    exlcude = ["junkemail"]
  }

  folders {
    include = ["sentitems"]
  }
}
