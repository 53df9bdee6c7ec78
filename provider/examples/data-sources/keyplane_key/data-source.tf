# Metadata of a key managed elsewhere: never its plaintext.
data "keyplane_key" "legacy" {
  id = "key_2Nc8vT4yR6mK1pQ9wX3zLb"
}

output "legacy_key_status" {
  value = data.keyplane_key.legacy.status
}
