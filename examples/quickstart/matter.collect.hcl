# A first matter, run against the built-in demo tenant: no Microsoft 365
# account is needed. Try it with
#
#   collect -chdir=examples/quickstart plan
#
# The demo tenant is simulated inside collect; its mail is generated and
# every output says so.

matter "quickstart" {
  description = "Demo collection on the built-in simulated tenant"
  time_zone   = "America/New_York"
}

tenant {
  cloud = "demo"
}

window "relevant" {
  start = "2024-01-01"
  end   = "2024-07-01" # exclusive
}

custodian "jdoe" {
  name    = "Jane Doe"
  email   = "jane.doe@demo.collect.invalid"
  windows = [window.relevant]
}

mailbox "legal" {
  address    = "legal@demo.collect.invalid"
  type       = "shared"
  custodians = [custodian.jdoe]
}
