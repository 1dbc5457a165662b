# The loader (`billing events load`): its own database login, nothing else.
path "database/static-creds/billing-loader" {
  capabilities = ["read"]
}
