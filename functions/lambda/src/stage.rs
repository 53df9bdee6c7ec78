//! API Gateway stage names in paths.
//!
//! An HTTP API on a named stage (anything but `$default`) puts the stage in
//! front of `rawPath` (`/prod/v1/keys`); a REST API never puts it in `path`
//! (only in `requestContext.path`). Routes are written without a stage, so
//! the HTTP API prefix comes off, and REST paths are taken as they are.

/// `raw_path` of an HTTP API (payload 2.0) event without the leading
/// `/{stage}` that a named stage adds.
pub(crate) fn strip<'a>(stage: Option<&str>, raw_path: &'a str) -> &'a str {
    let Some(stage) = stage.filter(|s| !s.is_empty() && *s != "$default") else {
        return raw_path;
    };
    let Some(rest) = raw_path
        .strip_prefix('/')
        .and_then(|p| p.strip_prefix(stage))
    else {
        return raw_path;
    };
    if rest.is_empty() {
        "/"
    } else if rest.starts_with('/') {
        rest
    } else {
        // `/production/…` on stage `prod`: not the stage.
        raw_path
    }
}

#[cfg(test)]
mod tests {
    use super::strip;

    #[test]
    fn only_a_whole_named_stage_segment_comes_off() {
        assert_eq!(strip(Some("prod"), "/prod/v1/keys"), "/v1/keys");
        assert_eq!(strip(Some("prod"), "/prod"), "/");
        assert_eq!(strip(Some("prod"), "/production/v1"), "/production/v1");
        assert_eq!(strip(Some("prod"), "/v1/keys"), "/v1/keys");
        assert_eq!(strip(Some("$default"), "/$default/x"), "/$default/x");
        assert_eq!(strip(None, "/prod/v1"), "/prod/v1");
    }
}
