# Acme Corp. v. Globex Inc.: collection of the four custodians named in the
# litigation hold notice of 2024-03-15, and the legal department's shared
# mailbox.

matter "acme-v-globex" {
  description = "Acme Corp. v. Globex Inc., No. 1:24-cv-01234 (S.D.N.Y.)"
  time_zone   = "America/New_York"
}

tenant {
  tenant_id = var.tenant_id
  client_id = var.client_id
  auth      = "client_secret" # the secret comes from COLLECT_CLIENT_SECRET
}

output {
  path   = "collection"
  hashes = ["sha256", "md5"]
}
