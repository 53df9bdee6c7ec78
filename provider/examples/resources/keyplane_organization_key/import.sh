# Import by key id a key that is bound to the Secrets Manager secret holding
# its plaintext (as every key this provider creates is). The import records
# the secret's name: declare it with `secret_name`, or with `secret_id`
# naming the same secret, and the next plan shows no change.
terraform import keyplane_organization_key.deployer key_5Hy7uJ2kL9mN3bV6cX1zQw
