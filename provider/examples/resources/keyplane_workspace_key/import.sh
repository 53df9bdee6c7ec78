# Import by key id a key that is bound to the Secrets Manager secret holding
# its plaintext (as every key this provider creates is). The import records
# the secret's name: declare it with `secret_name`, or with `secret_id`
# naming the same secret, and the next plan shows no change.
terraform import keyplane_workspace_key.billing_sync key_2Nc8vT4yR6mK1pQ9wX3zLb
