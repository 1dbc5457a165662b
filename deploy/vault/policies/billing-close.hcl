# The monthly close (`billing close`, CronJob): dbt as the transformer, documents as the
# renderer, checks as the auditor, and the document store's settings (S3 bucket, KMS key).
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
