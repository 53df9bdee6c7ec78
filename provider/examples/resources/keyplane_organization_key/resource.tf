# An organization key for two chosen workspaces, written as a new version
# of a secret that already exists (for example one an application reads).
resource "keyplane_organization_key" "deployer" {
  organization_id = "org_4Fh2kQ9wX1aZ7cR3mN8pLt"
  workspace_ids   = ["ws_7Jd3nB5vC2xH9kM4qW6rYs", "ws_1Ab2Cd3Ef4Gh5Jk6Lm7Np8"]
  name            = "deployer"
  role            = "viewer"
  permissions     = ["deployments:*"]

  secret_id = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:ci/deployer-key-Ab12Cd"
}
