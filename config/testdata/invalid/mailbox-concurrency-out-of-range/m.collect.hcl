matter "m" {}

tenant {
  cloud                  = "demo"
  mailbox_concurrency    = 0
  mailbox_request_limit  = 2.5
  mailbox_request_window = "-10m"
}

custodian "jdoe" {
  email = "jane.doe@contoso.com"
}
