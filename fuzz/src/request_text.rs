//! HTTP requests as plain text, so a corpus file is readable and the fuzzer
//! mutates methods, paths, headers and bodies alike:
//!
//! ```text
//! POST /v1/keys?dry=1
//! host: keyplane.test
//! x-amz-date: 20250101T000000Z
//!
//! {"name":"ci"}
//! ```
//!
//! The first line is the method and the request target; then one
//! `name: value` header per line; an empty line; the body, byte for byte.
//! Header lines `http` would refuse are skipped rather than failing the
//! whole request, so most mutations still reach the code under test.

use http::{HeaderName, HeaderValue, Method, Request, Uri};

/// Reads `data` as a request, or `None` when the method or target is not
/// one `http` accepts.
pub fn parse(data: &[u8]) -> Option<Request<Vec<u8>>> {
    let (head, body) = split_head(data);
    let mut lines = head.split(|&b| b == b'\n').map(trim_cr);
    let first = lines.next()?;
    let space = first.iter().position(|&b| b == b' ')?;
    let method = Method::from_bytes(&first[..space]).ok()?;
    let uri = Uri::try_from(&first[space + 1..]).ok()?;
    let mut request = Request::new(body.to_vec());
    *request.method_mut() = method;
    *request.uri_mut() = uri;
    for line in lines {
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let value = &line[colon + 1..];
        let value = value.strip_prefix(b" ").unwrap_or(value);
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(&line[..colon]),
            HeaderValue::from_bytes(value),
        ) {
            request.headers_mut().append(name, value);
        }
    }
    Some(request)
}

/// The text form of `request`, which [`parse`] reads back.
pub fn render(request: &Request<Vec<u8>>) -> Vec<u8> {
    let mut out = format!("{} {}\n", request.method(), request.uri()).into_bytes();
    for (name, value) in request.headers() {
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.push(b'\n');
    }
    out.push(b'\n');
    out.extend_from_slice(request.body());
    out
}

fn split_head(data: &[u8]) -> (&[u8], &[u8]) {
    match data.windows(2).position(|w| w == b"\n\n") {
        Some(at) => (&data[..at], &data[at + 2..]),
        None => (data, &[]),
    }
}

fn trim_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}
