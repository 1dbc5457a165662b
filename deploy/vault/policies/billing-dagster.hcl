# The Dagster user code deployment (orchestration.definitions): it runs the close's steps,
# so it reads what the close reads and nothing more.
path "database/static-creds/billing-transformer" {
  capabilities = ["read"]
}

path "database/static-creds/billing-renderer" {
  capabilities = ["read"]
}

path "database/static-creds/billing-auditor" {
  capabilities = ["read"]
}

path "secret/data/billing/documents" {
  capabilities = ["read"]
}
