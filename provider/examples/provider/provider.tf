terraform {
  required_providers {
    keyplane = {
      source = "keyplane/keyplane"
    }
  }
}

# Credentials come from the standard AWS chain (environment, profile, SSO,
# instance role). They sign management calls to Keyplane and write the new
# keys into Secrets Manager.
provider "keyplane" {
  endpoint = "https://abc123.execute-api.eu-west-1.amazonaws.com" # the infra module's api_endpoint output
  region   = "eu-west-1"
  # profile = "platform-admin"
}
