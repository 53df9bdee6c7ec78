# A service key for one workspace. Its plaintext goes straight into a new
# Secrets Manager secret; Terraform only ever sees the masked hint.
resource "keyplane_workspace_key" "billing_sync" {
  organization_id = "org_4Fh2kQ9wX1aZ7cR3mN8pLt"
  workspace_id    = "ws_7Jd3nB5vC2xH9kM4qW6rYs"
  name            = "billing-sync"
  role            = "editor"
  permissions     = ["invoices:read", "invoices:write"]
  expires_at      = "2027-12-31T00:00:00Z"
  metadata        = { team = "payments" }

  secret_name        = "prod/billing-sync/keyplane-key"
  secret_kms_key_id  = "alias/platform-secrets"
  secret_description = "Keyplane key of the billing-sync service"
}

# Applications read it from Secrets Manager, never from Terraform.
output "billing_sync_secret_arn" {
  value = keyplane_workspace_key.billing_sync.secret_arn
}
