data "keyplane_workspace" "prod" {
  organization_id = "org_4Fh2kQ9wX1aZ7cR3mN8pLt"
  name            = "prod"
}

resource "keyplane_workspace_key" "reporting" {
  organization_id = data.keyplane_workspace.prod.organization_id
  workspace_id    = data.keyplane_workspace.prod.id
  role            = "viewer"
  secret_name     = "prod/reporting/keyplane-key"
}
