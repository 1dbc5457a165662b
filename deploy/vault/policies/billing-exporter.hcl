# The exporter (`billing exporter`): the auditor's read-only login, nothing else.
path "database/static-creds/billing-auditor" {
  capabilities = ["read"]
}
