//! Which permissions a route needs: `KEYPLANE_ROUTE_PERMISSIONS`.
//!
//! A JSON object from `"METHOD /path/pattern"` to the permissions a key must
//! hold, e.g. `{"GET /orders/{id}": ["orders:read"], "ANY /health": []}`.
//! METHOD is an HTTP method or `ANY`. A segment `{name}` or `*` matches one
//! non-empty segment; a final `/**` matches zero or more segments. The most
//! specific match wins: more literal segments, then an exact method over
//! `ANY`, then a fixed length over `/**`, then literals further left, then
//! more segments. A request no route matches is denied.

use std::fmt;

use serde::de::{MapAccess, Visitor};
use serde::Deserializer;

/// Methods a route may name, as API Gateway knows them.
const METHODS: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

/// Why the route table is not usable. Messages quote route keys (they are
/// configuration, not secrets) but never a permission that looks like a key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct RouteError(String);

/// What a route accepts as its method.
#[derive(Debug, Clone, PartialEq, Eq)]
enum MethodMatch {
    Any,
    Exact(String),
}

/// One path segment of a pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    /// `{name}` or `*`.
    One,
}

/// One configured route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The key as configured, e.g. `GET /orders/{id}`: for logs.
    pub key: String,
    method: MethodMatch,
    segments: Vec<Segment>,
    /// A final `/**`.
    rest: bool,
    /// What a key must hold.
    pub permissions: Vec<String>,
}

/// The routes, ready to match requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteTable {
    routes: Vec<Route>,
}

impl RouteTable {
    /// Parses and checks the JSON configuration.
    pub fn parse(json: &str) -> Result<Self, RouteError> {
        let entries = parse_entries(json)?;
        if entries.is_empty() {
            return Err(RouteError(
                "has no routes, so every request would be denied; map \"METHOD /path\" to permissions, e.g. {\"GET /orders/{id}\": [\"orders:read\"]}"
                    .to_owned(),
            ));
        }
        let mut routes: Vec<Route> = Vec::with_capacity(entries.len());
        for (key, permissions) in entries {
            let route = Route::parse(&key, permissions)?;
            if let Some(same) = routes.iter().find(|r| r.same_pattern(&route)) {
                return Err(RouteError(format!(
                    "routes \"{}\" and \"{}\" match the same requests",
                    same.key, route.key
                )));
            }
            routes.push(route);
        }
        Ok(Self { routes })
    }

    /// The most specific route for `method` and `path`, if any.
    pub fn find(&self, method: &str, path: &str) -> Option<&Route> {
        let segments = request_segments(path);
        self.routes
            .iter()
            .filter(|route| route.matches(method, &segments))
            .max_by(|a, b| a.rank().cmp(&b.rank()))
    }

    /// How many routes there are.
    pub fn len(&self) -> usize {
        self.routes.len()
    }

    /// Never true for a parsed table; for completeness.
    pub fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }
}

/// `/` is no segment; otherwise each `/`-separated part, empty ones
/// included (they match no `{name}` and no literal).
fn request_segments(path: &str) -> Vec<&str> {
    let path = path.strip_prefix('/').unwrap_or(path);
    if path.is_empty() {
        Vec::new()
    } else {
        path.split('/').collect()
    }
}

impl Route {
    fn parse(key: &str, permissions: Vec<String>) -> Result<Self, RouteError> {
        let fail = |why: &str| RouteError(format!("route \"{}\" {why}", printable(key)));
        let (method, path) = key
            .split_once(' ')
            .ok_or_else(|| fail("must be \"METHOD /path\", e.g. \"GET /orders/{id}\""))?;
        let method = match method {
            "ANY" => MethodMatch::Any,
            m if METHODS.contains(&m) => MethodMatch::Exact(m.to_owned()),
            _ => {
                return Err(fail(
                    "has an unknown method; use GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS or ANY (upper case)",
                ))
            }
        };
        let body = path
            .strip_prefix('/')
            .ok_or_else(|| fail("must have a path starting with /"))?;
        let mut segments = Vec::new();
        let mut rest = false;
        if !body.is_empty() {
            let parts: Vec<&str> = body.split('/').collect();
            for (index, part) in parts.iter().enumerate() {
                let last = index + 1 == parts.len();
                segments.push(match *part {
                    "" => return Err(fail("has an empty path segment (// or a trailing /)")),
                    "**" if last => {
                        rest = true;
                        continue;
                    }
                    "**" => return Err(fail("may use /** only at the end")),
                    "*" => Segment::One,
                    p if p.starts_with('{') && p.ends_with('}') => {
                        let name = &p[1..p.len() - 1];
                        if name.ends_with('+') {
                            return Err(fail(
                                "uses a greedy {name+} parameter; write /** at the end instead",
                            ));
                        }
                        if name.is_empty()
                            || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                        {
                            return Err(fail(
                                "has a parameter whose name is not letters, digits or _",
                            ));
                        }
                        Segment::One
                    }
                    p if p.contains('{') && !p.contains('}') => {
                        return Err(fail("has an unclosed brace"))
                    }
                    p if p.contains(['{', '}', '*']) => {
                        return Err(fail(
                            "mixes text with {, } or * in one segment; a segment is literal text, a whole {name}, * or a final **",
                        ))
                    }
                    p if p.chars().any(|c| c.is_control() || c.is_whitespace()) => {
                        return Err(fail("has a space or control character in its path"))
                    }
                    p => Segment::Literal(p.to_owned()),
                });
            }
        }
        for (index, permission) in permissions.iter().enumerate() {
            keyplane_core::permission::validate(permission)
                .map_err(|err| fail(&format!("permission {}: {}", index + 1, err.message)))?;
        }
        Ok(Self {
            key: key.to_owned(),
            method,
            segments,
            rest,
            permissions,
        })
    }

    fn matches(&self, method: &str, segments: &[&str]) -> bool {
        let method_ok = match &self.method {
            MethodMatch::Any => true,
            MethodMatch::Exact(m) => m == method,
        };
        let length_ok = if self.rest {
            segments.len() >= self.segments.len()
        } else {
            segments.len() == self.segments.len()
        };
        method_ok
            && length_ok
            && self
                .segments
                .iter()
                .zip(segments)
                .all(|(pattern, actual)| match pattern {
                    Segment::Literal(text) => text == actual,
                    Segment::One => !actual.is_empty(),
                })
    }

    /// Greater is more specific.
    fn rank(&self) -> (usize, bool, bool, Vec<bool>, usize) {
        let literals: Vec<bool> = self
            .segments
            .iter()
            .map(|s| matches!(s, Segment::Literal(_)))
            .collect();
        (
            literals.iter().filter(|l| **l).count(),
            matches!(self.method, MethodMatch::Exact(_)),
            !self.rest,
            literals,
            self.segments.len(),
        )
    }

    /// Do both match exactly the same requests?
    fn same_pattern(&self, other: &Route) -> bool {
        self.method == other.method && self.segments == other.segments && self.rest == other.rest
    }
}

/// A route key for a message: control characters escaped, and cut short.
fn printable(key: &str) -> String {
    keyplane_core::validate::printable_long(key)
}

/// The JSON object's entries in order, with duplicate keys refused (a
/// plain map would silently keep the last one).
fn parse_entries(json: &str) -> Result<Vec<(String, Vec<String>)>, RouteError> {
    struct Entries;

    impl<'de> Visitor<'de> for Entries {
        type Value = Vec<(String, Vec<String>)>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an object mapping \"METHOD /path\" to an array of permission strings")
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut entries: Vec<(String, Vec<String>)> = Vec::new();
            while let Some(key) = map.next_key::<String>()? {
                let permissions: Vec<String> = map.next_value()?;
                if entries.iter().any(|(seen, _)| *seen == key) {
                    return Err(serde::de::Error::custom(format!(
                        "route \"{}\" is given twice",
                        printable(&key)
                    )));
                }
                entries.push((key, permissions));
            }
            Ok(entries)
        }
    }

    let mut deserializer = serde_json::Deserializer::from_str(json);
    let entries = deserializer
        .deserialize_map(Entries)
        .and_then(|entries| deserializer.end().map(|()| entries))
        .map_err(|err| RouteError(format!("is not valid: {}", describe(&err))))?;
    Ok(entries)
}

/// serde_json's message without quoted values (a value could be a pasted
/// key), keeping where the problem is.
fn describe(err: &serde_json::Error) -> String {
    let text = err.to_string();
    let message = text.split(" at line ").next().unwrap_or(&text);
    let message = if message.starts_with("route \"") || message.starts_with("invalid type") {
        keyplane_core::key_format::redact_keys(message)
    } else if err.is_syntax() || err.is_eof() {
        "not JSON".to_owned()
    } else {
        keyplane_core::key_format::redact_keys(message)
    };
    format!(
        "{message} (line {}, column {}); expected an object mapping \"METHOD /path\" to an array of permission strings",
        err.line(),
        err.column()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(json: &str) -> RouteTable {
        RouteTable::parse(json).expect("valid table")
    }

    fn error(json: &str) -> String {
        RouteTable::parse(json)
            .expect_err("invalid table")
            .to_string()
    }

    fn found<'a>(table: &'a RouteTable, method: &str, path: &str) -> Option<&'a str> {
        table.find(method, path).map(|r| r.key.as_str())
    }

    #[test]
    fn the_most_specific_route_wins() {
        let t = table(
            r#"{
                "GET /orders/{id}": ["orders:read"],
                "ANY /orders/{id}": ["orders:any"],
                "GET /orders/latest": ["orders:latest"],
                "POST /orders": ["orders:write"],
                "ANY /orders/**": ["orders:*"],
                "GET /*/{x}": [],
                "ANY /health": [],
                "GET /": []
            }"#,
        );
        assert_eq!(found(&t, "GET", "/orders/42"), Some("GET /orders/{id}"));
        assert_eq!(found(&t, "DELETE", "/orders/42"), Some("ANY /orders/{id}"));
        assert_eq!(
            found(&t, "GET", "/orders/latest"),
            Some("GET /orders/latest")
        );
        assert_eq!(found(&t, "POST", "/orders"), Some("POST /orders"));
        assert_eq!(found(&t, "GET", "/orders"), Some("ANY /orders/**"));
        assert_eq!(found(&t, "GET", "/orders/1/items"), Some("ANY /orders/**"));
        assert_eq!(found(&t, "GET", "/users/1"), Some("GET /*/{x}"));
        assert_eq!(found(&t, "HEAD", "/health"), Some("ANY /health"));
        assert_eq!(found(&t, "GET", "/"), Some("GET /"));
        assert_eq!(found(&t, "GET", "/users"), None);
        assert_eq!(found(&t, "GET", "/users//"), None);
        assert_eq!(found(&t, "POST", "/"), None);
    }

    #[test]
    fn literals_further_left_win_ties() {
        let t = table(r#"{"GET /a/{x}": ["left"], "GET /{x}/b": ["right"]}"#);
        assert_eq!(found(&t, "GET", "/a/b"), Some("GET /a/{x}"));
    }

    #[test]
    fn bad_tables_are_explained() {
        for (json, expected) in [
            (
                r#"{"GET /a/{x": []}"#,
                r#"route "GET /a/{x" has an unclosed brace"#,
            ),
            (r#"{"get /a": []}"#, "unknown method"),
            (r#"{"GET a": []}"#, "starting with /"),
            (r#"{"GET /a//b": []}"#, "empty path segment"),
            (r#"{"GET /a/": []}"#, "empty path segment"),
            (r#"{"GET /**/a": []}"#, "only at the end"),
            (r#"{"GET /a/{p+}": []}"#, "write /** at the end"),
            (r#"{"GET /a{x}": []}"#, "mixes text"),
            (r#"{"GET /a": ["bad permission"]}"#, "permission 1"),
            (
                r#"{"GET /a/{x}": [], "GET /a/*": []}"#,
                "match the same requests",
            ),
            (r#"{"GET /a": [], "GET /a": []}"#, "given twice"),
            (r#"{}"#, "no routes"),
            (r#"["GET /a"]"#, "expected an object"),
            (r#"{"GET /a": "x"}"#, "invalid type"),
            (r#"{"GET /a": []"#, "not JSON"),
            (r#"{"GET /a": []} x"#, "not JSON"),
        ] {
            let message = error(json);
            assert!(message.contains(expected), "{json}: {message}");
        }
    }
}
