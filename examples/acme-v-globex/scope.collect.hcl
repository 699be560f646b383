locals {
  domain = "acme.example"
}

# The period the complaint describes.
window "relevant" {
  start = var.relevant_start
  end   = "2024-03-01"
}

# Everything since the hold notice, by sent date: an open window, so that a
# scheduled re-collection picks up new mail.
window "post_hold" {
  start = var.hold_date
  date  = "sent"
}

custodian "jdoe" {
  name    = "Jane Doe, VP Sales"
  email   = "jane.doe@${local.domain}"
  windows = [window.relevant, window.post_hold]
}

custodian "jsmith" {
  name    = "John Smith, Account Manager"
  email   = "john.smith@${local.domain}"
  windows = [window.relevant, window.post_hold]

  folders {
    include = ["inbox", "sentitems", "Inbox/Globex"]
    exclude = ["junkemail"]
  }
}

# Known to the team by her alias; collect resolves it to the primary mailbox.
custodian "mgarcia" {
  name    = "Maria Garcia, General Counsel"
  email   = "m.garcia@${local.domain}"
  windows = [window.relevant]

  folders {
    exclude = ["junkemail", "deleteditems"]
  }
}

custodian "wchen" {
  name    = "Wei Chen, Engineering"
  email   = "wei.chen@${local.domain}"
  windows = [window.post_hold]
}

mailbox "legal_shared" {
  address    = "legal@${local.domain}"
  type       = "shared"
  custodians = [custodian.jdoe, custodian.mgarcia]

  folders {
    include = ["Inbox/Globex", "sentitems"]
  }
}
