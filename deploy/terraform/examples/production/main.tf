# Production: the document bucket of the billing service in eu-west-2.
# Offline here: `terraform fmt -check`, python-hcl2 and checkov (make test); plan and apply run
# in the platform pipeline with real credentials (docs/deployment.md).

terraform {
  required_version = ">= 1.6"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.60, < 7.0"
    }
  }
  backend "s3" {
    bucket       = "relay-terraform-state"
    key          = "billing/documents.tfstate"
    region       = "eu-west-2"
    encrypt      = true
    use_lockfile = true
  }
}

provider "aws" {
  region = "eu-west-2"
  default_tags {
    tags = {
      service = "billing"
      owner   = "finance-platform"
    }
  }
}

module "documents" {
  source = "../../modules/document-bucket"

  bucket_name       = "relay-billing-documents-prod"
  documents_prefix  = "documents"
  access_log_bucket = "relay-s3-access-logs-prod"

  # Finance: invoices are kept 10 years, in compliance mode (nobody can delete them earlier).
  retention_mode  = "COMPLIANCE"
  retention_days  = 3653
  transition_days = 365

  oidc_provider_arn = "arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
  oidc_provider_url = "oidc.eks.eu-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
  namespace         = "billing"
  service_accounts  = ["billing-close", "billing-dagster"]

  administrator_role_arns = ["arn:aws:iam::123456789012:role/platform-administrator"]
}

output "documents_uri" {
  description = "Put into Vault: secret/billing/documents documents_uri."
  value       = module.documents.documents_uri
}

output "kms_key_arn" {
  description = "Put into Vault: secret/billing/documents kms_key_arn."
  value       = module.documents.kms_key_arn
}

output "service_role_arn" {
  description = "values-production.yaml: close.serviceAccount.annotations eks.amazonaws.com/role-arn."
  value       = module.documents.service_role_arn
}
