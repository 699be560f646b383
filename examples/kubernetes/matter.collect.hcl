# A matter collected by a Kubernetes Indexed Job: each pod is one shard and
# collects the mailboxes whose address falls to it; the state and the
# evidence live in Azure Blob Storage, so a pod keeps nothing on its node.
#
# kubectl create configmap acme-matter --from-file=matter.collect.hcl

matter "acme-v-globex" {
  description = "Acme Corp. v. Globex Inc., No. 1:24-cv-01234 (S.D.N.Y.)"
  time_zone   = "America/New_York"
}

variable "tenant_id" {
  type        = string
  description = "The custodians' Microsoft 365 tenant (the Job sets COLLECT_VAR_tenant_id)."
  default     = "acme.onmicrosoft.com"
}

variable "client_id" {
  type        = string
  description = "The app registration that reads the mailboxes (the Job sets COLLECT_VAR_client_id)."
  default     = "00000000-0000-0000-0000-000000000000"
}

tenant {
  tenant_id = var.tenant_id
  client_id = var.client_id
  # The certificate comes from a Kubernetes Secret mounted at this path; its
  # password, if any, from COLLECT_CERTIFICATE_PASSWORD.
  auth             = "client_certificate"
  certificate_path = "/secrets/graph/app.pem"
}

# Where the collection is kept. No credential here: the pods sign in to
# storage with Azure workload identity.
backend "azurerm" {
  storage_account = "acmeevidence"
  container       = "acme-v-globex"
  prefix          = "collection"
}

output {
  hashes = ["sha256", "md5"]
}

window "relevant" {
  start = "2023-06-01"
  end   = "2024-03-01"
}

custodian "jdoe" {
  name    = "Jane Doe, VP Sales"
  email   = "jane.doe@acme.example"
  windows = [window.relevant]
}

custodian "jsmith" {
  name    = "John Smith, Account Manager"
  email   = "john.smith@acme.example"
  windows = [window.relevant]
}

custodian "mgarcia" {
  name    = "Maria Garcia, General Counsel"
  email   = "m.garcia@acme.example"
  windows = [window.relevant]
}

custodian "wchen" {
  name    = "Wei Chen, Engineering"
  email   = "wei.chen@acme.example"
  windows = [window.relevant]
}

mailbox "legal_shared" {
  address    = "legal@acme.example"
  type       = "shared"
  custodians = [custodian.jdoe, custodian.mgarcia]
}
