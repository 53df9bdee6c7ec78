//! Fine-grained permission strings such as `models:gpt-4o`, with a trailing
//! `*` wildcard (`models:*`, or `*` for everything).

use crate::validate::printable;
use crate::Error;

/// Longest accepted permission string.
pub const MAX_PERMISSION_LEN: usize = 128;
/// Most permissions on one key.
pub const MAX_PERMISSIONS: usize = 100;

/// Checks the shape of a permission pattern: segments of `[A-Za-z0-9._-]`
/// separated by `:`, optionally ending in `*`.
pub fn validate(pattern: &str) -> Result<(), Error> {
    let body = pattern.strip_suffix('*').unwrap_or(pattern);
    let well_formed = !pattern.is_empty()
        && pattern.len() <= MAX_PERMISSION_LEN
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b':' | b'.' | b'_' | b'-' | b'/'))
        && !body.contains("::")
        && !body.starts_with(':');
    if well_formed {
        crate::validate::no_keys("permissions", pattern)
    } else {
        Err(Error::invalid(
            "INVALID_PERMISSION",
            format!(
                "'{}' is not a valid permission: use segments like models:gpt-4o, optionally ending in *",
                printable(pattern)
            ),
        ))
    }
}

/// Validates a list, sorting and de-duplicating it.
pub fn normalise(patterns: &[String]) -> Result<Vec<String>, Error> {
    if patterns.len() > MAX_PERMISSIONS {
        return Err(Error::invalid(
            "TOO_MANY_PERMISSIONS",
            format!("a key may have at most {MAX_PERMISSIONS} permissions"),
        ));
    }
    patterns.iter().try_for_each(|p| validate(p))?;
    let mut out = patterns.to_vec();
    out.sort();
    out.dedup();
    Ok(out)
}

/// Does `pattern` grant the concrete or wildcard permission `wanted`?
/// A wildcard is granted only by a pattern at least as broad.
pub fn grants(pattern: &str, wanted: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => wanted.starts_with(prefix),
        None => pattern == wanted,
    }
}

/// Does any of `patterns` grant `wanted`?
pub fn any_grants(patterns: &[String], wanted: &str) -> bool {
    patterns.iter().any(|p| grants(p, wanted))
}

/// Is every one of `wanted` granted by `held`? Used to keep a key within its
/// creator's permissions.
pub fn covers(held: &[String], wanted: &[String]) -> bool {
    wanted.iter().all(|w| any_grants(held, w))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn wildcards_match_prefixes() {
        assert!(grants("models:*", "models:gpt-4o"));
        assert!(grants("*", "anything:at:all"));
        assert!(grants("models:gpt-4o", "models:gpt-4o"));
        assert!(!grants("models:gpt-4o", "models:gpt-4o-mini"));
        assert!(!grants("models:gpt-4o", "models:*"));
        assert!(grants("models:*", "models:*"));
        assert!(!grants("files:*", "models:gpt-4o"));
    }

    #[test]
    fn covers_requires_every_permission() {
        assert!(covers(&v(&["models:*"]), &v(&["models:a", "models:b"])));
        assert!(!covers(&v(&["models:a"]), &v(&["models:a", "models:b"])));
        assert!(covers(&v(&["*"]), &v(&["models:*"])));
        assert!(covers(&v(&[]), &v(&[])));
    }

    #[test]
    fn shapes_are_validated() {
        assert!(validate("models:gpt-4o").is_ok());
        assert!(validate("models:*").is_ok());
        assert!(validate("*").is_ok());
        for bad in ["", "models:*:x", "a b", "::", "models:gpt\n", ":x"] {
            assert!(validate(bad).is_err(), "{bad:?}");
        }
        assert_eq!(normalise(&v(&["b", "a", "b"])), Ok(v(&["a", "b"])));
    }
}
