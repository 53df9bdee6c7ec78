variable "name" {
  description = "Prefix of every resource name (table, functions, roles, API)."
  type        = string
  default     = "keyplane"

  validation {
    condition     = can(regex("^[A-Za-z0-9-]{1,40}$", var.name))
    error_message = "name must be 1-40 letters, digits or hyphens."
  }
}

variable "lambda_zip_dir" {
  description = "Folder holding api.zip, authorizer.zip and rotator.zip, as written by functions/lambda/package (dist/lambda at the repository root)."
  type        = string
}

variable "admins" {
  description = "IAM ARNs of platform admins (may create organizations). Given to both the api and the rotator functions."
  type        = list(string)
  default     = []
}

variable "usage_reporters" {
  description = "IAM ARNs allowed to POST /v1/usage."
  type        = list(string)
  default     = []
}

variable "key_env" {
  description = "Prefix of minted keys: live (kp_live_) or test (kp_test_)."
  type        = string
  default     = "live"

  validation {
    condition     = contains(["live", "test"], var.key_env)
    error_message = "key_env must be live or test."
  }
}

variable "log_filter" {
  description = "tracing filter for the functions' logs (KEYPLANE_LOG), e.g. info or warn,keyplane_core=debug."
  type        = string
  default     = "info"
}

variable "log_retention_days" {
  description = "Retention of the functions' and the API's log groups."
  type        = number
  default     = 365
}

variable "kms_key_arn" {
  description = "Customer KMS key for the table, the log groups and the functions' environment; null uses AWS-owned keys."
  type        = string
  default     = null
}

variable "deletion_protection" {
  description = "DynamoDB deletion protection. Turn off only to tear a test deployment down."
  type        = bool
  default     = true
}

variable "replica_regions" {
  description = "Regions that get a replica of the table (DynamoDB global table). Deploy this module again per region with create_table = false to serve from each."
  type        = list(string)
  default     = []
}

variable "create_table" {
  description = "Create the table here; false in the other regions of a multi-region deployment, where table_name names the replica."
  type        = bool
  default     = true
}

variable "table_name" {
  description = "Table name when create_table is false (the global table's name); default <name>."
  type        = string
  default     = null
}

variable "reserved_concurrency" {
  description = "Reserved concurrent executions per function (api, authorizer, rotator); a missing key or -1 means unreserved."
  type        = map(number)
  default     = {}
}

variable "xray_tracing" {
  description = "Active X-Ray tracing on the functions."
  type        = bool
  default     = false
}

variable "rotation_grace_seconds" {
  description = "How long the previous secret keeps working after a Secrets Manager rotation (0-86400)."
  type        = number
  default     = 7200

  validation {
    condition     = var.rotation_grace_seconds >= 0 && var.rotation_grace_seconds <= 86400
    error_message = "rotation_grace_seconds must be 0 to 86400."
  }
}

variable "rotation_secret_name_prefix" {
  description = "The rotator may read and write only secrets whose name starts with this prefix (and that carry the keyplane:key-id tag). Empty: any tagged secret."
  type        = string
  default     = ""
}

variable "route_permissions" {
  description = "The authorizer's route table (KEYPLANE_ROUTE_PERMISSIONS): \"METHOD /path\" => permissions a key must hold. See functions/lambda/README.md."
  type        = map(list(string))
  default     = {}
}

variable "authorizer_http_apis" {
  description = "Your own HTTP APIs that get the Keyplane authorizer (REQUEST, payload 2.0, simple responses): a name of your choice => API id. The names key the resources, so the ids may be unknown until apply."
  type        = map(string)
  default     = {}
}

variable "authorizer_rest_apis" {
  description = "Your own REST APIs that get the Keyplane authorizer (REQUEST type): a name of your choice => REST API id."
  type        = map(string)
  default     = {}
}

variable "authorizer_cache_ttl_seconds" {
  description = "API Gateway's authorizer result cache. A revoked key keeps passing until its cached answer expires, so this adds up to its value to revocation staleness. 0 (the default) caches nothing."
  type        = number
  default     = 0

  validation {
    condition     = var.authorizer_cache_ttl_seconds >= 0 && var.authorizer_cache_ttl_seconds <= 3600
    error_message = "authorizer_cache_ttl_seconds must be 0 to 3600."
  }
}

variable "verify_cache_ttl_ms" {
  description = "How long a warm api or authorizer container may answer a verify from memory. A revoke, disable, roll or leak report reaches every container within this bound; 0 turns the cache off (one DynamoDB read per verify)."
  type        = number
  default     = 5000

  validation {
    condition     = var.verify_cache_ttl_ms >= 0 && var.verify_cache_ttl_ms <= 300000 && floor(var.verify_cache_ttl_ms) == var.verify_cache_ttl_ms
    error_message = "verify_cache_ttl_ms must be a whole number from 0 to 300000."
  }
}

variable "verify_cache_entries" {
  description = "Verify answers each container keeps in memory (a few hundred bytes each)."
  type        = number
  default     = 10000

  validation {
    condition     = var.verify_cache_entries >= 1 && var.verify_cache_entries <= 10000000 && floor(var.verify_cache_entries) == var.verify_cache_entries
    error_message = "verify_cache_entries must be a whole number from 1 to 10000000."
  }
}

variable "last_used_flush_seconds" {
  description = "Least seconds between two writes of keys' last use by one container: plain verifies never write; each container writes each key it saw at most once per interval, at the end of an invocation. 0 stops recording last use of plain verifies."
  type        = number
  default     = 60

  validation {
    condition     = var.last_used_flush_seconds >= 0 && var.last_used_flush_seconds <= 86400 && floor(var.last_used_flush_seconds) == var.last_used_flush_seconds
    error_message = "last_used_flush_seconds must be a whole number from 0 to 86400."
  }
}

variable "rate_data_plane" {
  description = "Verify and whoami requests one client address (IPv6: one /64) may make to one api container: COUNT/s, COUNT/min or COUNT/h, optionally :BURST, or off. Refused requests get 429 RATE_LIMITED with Retry-After."
  type        = string
  default     = "2000/s:4000"

  validation {
    condition     = can(regex("^(off|[1-9][0-9]{0,8}/(s|min|h)(:[1-9][0-9]{0,8})?)$", var.rate_data_plane))
    error_message = "rate_data_plane must be COUNT/s, COUNT/min or COUNT/h, optionally :BURST (e.g. 100/s:200), or off."
  }
}

variable "rate_leak_reports" {
  description = "Leak reports one client address may make to one api container, in the same form. Each accepted report is audited in the same write that disables the key."
  type        = string
  default     = "60/min:30"

  validation {
    condition     = can(regex("^(off|[1-9][0-9]{0,8}/(s|min|h)(:[1-9][0-9]{0,8})?)$", var.rate_leak_reports))
    error_message = "rate_leak_reports must be COUNT/s, COUNT/min or COUNT/h, optionally :BURST (e.g. 100/s:200), or off."
  }
}

variable "rate_management" {
  description = "Management requests one IAM caller may make to one api container, in the same form."
  type        = string
  default     = "20/s:50"

  validation {
    condition     = can(regex("^(off|[1-9][0-9]{0,8}/(s|min|h)(:[1-9][0-9]{0,8})?)$", var.rate_management))
    error_message = "rate_management must be COUNT/s, COUNT/min or COUNT/h, optionally :BURST (e.g. 100/s:200), or off."
  }
}

variable "request_timeout_ms" {
  description = "How long the api function's Router may take over one request before it answers 503 TIMED_OUT. Keep it below the function timeout and API Gateway's 30 s."
  type        = number
  default     = 10000

  validation {
    condition     = var.request_timeout_ms >= 100 && var.request_timeout_ms <= 300000 && floor(var.request_timeout_ms) == var.request_timeout_ms
    error_message = "request_timeout_ms must be a whole number from 100 to 300000."
  }
}

variable "throttling_burst_limit" {
  description = "Burst limit of the Keyplane HTTP API's default stage."
  type        = number
  default     = 2000
}

variable "throttling_rate_limit" {
  description = "Steady-state requests per second of the Keyplane HTTP API's default stage."
  type        = number
  default     = 1000
}

variable "domain_name" {
  description = "Optional custom domain for the Keyplane API (needs certificate_arn)."
  type        = string
  default     = null
}

variable "certificate_arn" {
  description = "ACM certificate (same region) for domain_name."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
