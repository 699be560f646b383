window "relevant" {
  start = "2023-01-01"
  end   = "2024-01-01"
}

custodian "jdoe" {
  email   = "jane.doe@contoso.com"
  windows = [window.relevant]
}
