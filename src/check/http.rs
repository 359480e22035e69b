//! HTTP_GET: the request keepalived sends, a streaming response parser that
//! hashes the body with MD5 (only when a `digest` is to be compared) and
//! matches it against the url's `regex` ([`super::body_regex`]), and the
//! exchange over any byte stream (plain TCP here; a TLS stream can drive the
//! same [`HttpExchange`] for SSL_GET).
//!
//! The parser is a pure function of the bytes fed to it and never panics.

use std::fmt;
use std::io::{self, Read, Write};
use std::rc::Rc;

use md5::{Digest, Md5};

use super::body_regex::BodyMatcher;
use super::checker::CheckResult;
use crate::config::model::{HttpProtocol, Url};

/// Response heads larger than this are refused.
pub const MAX_HEAD: usize = 16 * 1024;

/// `GET path HTTP/1.x`, `User-Agent: KeepAliveClient`, `Host:` and, for
/// 1.0C and 1.1, `Connection: close`. CR, LF and NUL are dropped from the
/// configured words so they cannot add header lines.
pub fn request(path: &str, host: &str, protocol: HttpProtocol) -> Vec<u8> {
    let clean = |s: &str| s.chars().filter(|c| !matches!(c, '\r' | '\n' | '\0')).collect::<String>();
    let version = if protocol == HttpProtocol::V1_1 { "1.1" } else { "1.0" };
    let mut req = format!(
        "GET {} HTTP/{version}\r\nUser-Agent: KeepAliveClient\r\nHost: {}\r\n",
        clean(path),
        clean(host)
    );
    if protocol != HttpProtocol::V1_0 {
        req.push_str("Connection: close\r\n");
    }
    req.push_str("\r\n");
    req.into_bytes()
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HttpError {
    /// The connection closed before a complete response head.
    NoResponse,
    BadStatusLine,
    HeadTooLong,
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            HttpError::NoResponse => "no complete HTTP response",
            HttpError::BadStatusLine => "malformed HTTP status line",
            HttpError::HeadTooLong => "HTTP response head too long",
        })
    }
}

/// What a complete response amounted to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    /// MD5 of the body (headers excluded), when it was computed.
    pub digest: Option<[u8; 16]>,
    /// Whether the url's `regex` matched the body, when it has one.
    pub regex_matched: Option<bool>,
    pub body_len: u64,
    pub content_length: Option<u64>,
}

/// `HTTP/x.y SP 3DIGIT [SP reason]` -> the status code.
pub fn parse_status_line(line: &[u8]) -> Result<u16, HttpError> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let rest = line.strip_prefix(b"HTTP/").ok_or(HttpError::BadStatusLine)?;
    let sp = rest.iter().position(|&b| b == b' ').ok_or(HttpError::BadStatusLine)?;
    let version = &rest[..sp];
    if version.is_empty() || !version.iter().all(|b| b.is_ascii_digit() || *b == b'.') {
        return Err(HttpError::BadStatusLine);
    }
    let after = &rest[sp + 1..];
    let code = after.get(..3).ok_or(HttpError::BadStatusLine)?;
    if !code.iter().all(u8::is_ascii_digit) || after.get(3).is_some_and(|&b| b != b' ') {
        return Err(HttpError::BadStatusLine);
    }
    Ok(code.iter().fold(0u16, |n, d| n * 10 + u16::from(d - b'0')))
}

/// The value of `Content-Length` among header lines, if valid.
fn content_length(headers: &[u8]) -> Option<u64> {
    for line in headers.split(|&b| b == b'\n') {
        let Some(colon) = line.iter().position(|&b| b == b':') else { continue };
        if line[..colon].eq_ignore_ascii_case(b"content-length") {
            let value = std::str::from_utf8(&line[colon + 1..]).ok()?.trim();
            return value.parse().ok();
        }
    }
    None
}

/// Feeds of response bytes in, a [`Response`] out.
#[derive(Clone, Debug, Default)]
pub struct ResponseParser {
    head: Vec<u8>,
    status: Option<u16>,
    content_length: Option<u64>,
    body_len: u64,
    /// Boxed, as the matcher: most urls have no digest, and every probe
    /// (with the probe slots, every slot) holds a parser.
    md5: Option<Box<Md5>>,
    /// Boxed: most urls have none, and every probe holds a parser.
    regex: Option<Box<BodyMatcher>>,
}

impl ResponseParser {
    /// A parser that hashes the body (genhash).
    pub fn new() -> ResponseParser {
        ResponseParser { md5: Some(Box::new(Md5::new())), ..ResponseParser::default() }
    }

    /// What checking `url` needs: the MD5 only with a `digest`, the matcher
    /// only with a `regex`.
    pub fn for_url(url: &Url) -> ResponseParser {
        let regex = url.regex.as_ref().map(|r| {
            let dollar_before_final_newline = !r.options.iter().any(|o| o == "dollar_endonly");
            let m =
                BodyMatcher::new(r.compiled.clone(), r.min_offset, r.max_offset, dollar_before_final_newline);
            Box::new(m)
        });
        ResponseParser {
            md5: url.digest.as_ref().map(|_| Box::new(Md5::new())),
            regex,
            ..ResponseParser::default()
        }
    }

    /// Take the next bytes. `Ok(true)` when the body is complete by its
    /// Content-Length (the caller may stop reading).
    pub fn feed(&mut self, mut data: &[u8]) -> Result<bool, HttpError> {
        if self.status.is_none() {
            // The usual case, the whole head in the first read, is parsed
            // where it lies; only a head split over reads is gathered.
            let head_in_data = if self.head.is_empty() { head_end(data, 0) } else { None };
            if let Some((end, body_at)) = head_in_data {
                self.take_head(&data[..end])?;
                data = &data[body_at..];
            } else {
                let start = self.head.len().saturating_sub(3);
                self.head.extend_from_slice(data);
                let Some((end, body_at)) = head_end(&self.head, start) else {
                    return if self.head.len() > MAX_HEAD { Err(HttpError::HeadTooLong) } else { Ok(false) };
                };
                let head = std::mem::take(&mut self.head);
                self.take_head(&head[..end])?;
                let consumed_before = head.len() - data.len();
                data = &data[body_at.saturating_sub(consumed_before).min(data.len())..];
            }
        }
        if let Some(md5) = &mut self.md5 {
            md5.update(data);
        }
        if let Some(regex) = &mut self.regex {
            regex.feed(data);
        }
        self.body_len = self.body_len.saturating_add(data.len() as u64);
        Ok(self.content_length.is_some_and(|n| self.body_len >= n))
    }

    /// The status and Content-Length of a complete head (without the blank line).
    fn take_head(&mut self, head: &[u8]) -> Result<(), HttpError> {
        let first_line = head.split(|&b| b == b'\n').next().unwrap_or(&[]);
        self.status = Some(parse_status_line(first_line)?);
        self.content_length = content_length(head);
        Ok(())
    }

    /// The connection ended (or the body is complete).
    pub fn finish(self) -> Result<Response, HttpError> {
        let status = self.status.ok_or(HttpError::NoResponse)?;
        Ok(Response {
            status,
            digest: self.md5.map(|md5| md5.finalize().into()),
            regex_matched: self.regex.map(|mut r| r.finish()),
            body_len: self.body_len,
            content_length: self.content_length,
        })
    }
}

/// Where the head ends: (end of the header lines, start of the body).
/// Accepts CRLF CRLF and bare LF LF. `from` skips bytes already searched.
fn head_end(buf: &[u8], from: usize) -> Option<(usize, usize)> {
    let mut i = from;
    while i < buf.len() {
        if buf[i] == b'\n' {
            if buf.get(i + 1) == Some(&b'\n') {
                return Some((i, i + 2));
            }
            if buf.get(i + 1) == Some(&b'\r') && buf.get(i + 2) == Some(&b'\n') {
                return Some((i, i + 3));
            }
        }
        i += 1;
    }
    None
}

pub fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// keepalived's verdict on a response for one `url` block.
pub fn judge(url: &Url, response: Result<Response, HttpError>) -> CheckResult {
    let path = &url.path;
    let r = match response {
        Ok(r) => r,
        Err(e) => return CheckResult::failure(format!("{e} url({path})")),
    };
    if !url.status_ok(r.status) {
        return CheckResult::failure(format!(
            "HTTP status code error url({path}), status_code [{}]",
            r.status
        ));
    }
    if let Some(want) = &url.digest {
        let got = r.digest.map(|d| hex(&d)).unwrap_or_default();
        if !want.eq_ignore_ascii_case(&got) {
            return CheckResult::failure(format!("MD5 digest error url({path}), MD5SUM [{got}]"));
        }
    }
    if let Some(regex) = &url.regex {
        // No regex support is no match: never a server counted up unchecked.
        if r.regex_matched.unwrap_or(false) == regex.no_match {
            let (pattern, sense) = (&regex.pattern, if regex.no_match { "matched" } else { "did not match" });
            return CheckResult::failure(format!("Regex match failed url({path}): '{pattern}' {sense}"));
        }
    }
    CheckResult::success(format!("url({path})"))
}

/// One request and its response over a byte stream.
#[derive(Clone, Debug)]
pub struct HttpExchange {
    /// Built once per `url` block and shared by its checks.
    request: Rc<[u8]>,
    sent: usize,
    parser: ResponseParser,
}

/// How far an exchange got.
#[derive(Debug)]
pub enum Progress {
    /// Needs more readiness.
    Pending,
    Done(Result<Response, HttpError>),
    /// The transport failed.
    Failed(io::Error),
}

impl HttpExchange {
    pub fn new(request: Rc<[u8]>, parser: ResponseParser) -> HttpExchange {
        HttpExchange { request, sent: 0, parser }
    }

    /// Write what is left of the request, then read until the stream would
    /// block, ends, or the body is complete. `readable`: the stream may
    /// hold bytes. A plain socket that just took the request has none yet
    /// (the reply comes with its own readiness event), so a caller that
    /// knows the readiness spares a read that could only say EAGAIN.
    pub fn drive<S: Read + Write>(&mut self, stream: &mut S, readable: bool) -> Progress {
        while self.sent < self.request.len() {
            match stream.write(&self.request[self.sent..]) {
                Ok(0) => return Progress::Failed(io::ErrorKind::WriteZero.into()),
                Ok(n) => self.sent += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Progress::Pending,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Progress::Failed(e),
            }
        }
        if !readable {
            return Progress::Pending;
        }
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf) {
                Ok(0) => return Progress::Done(std::mem::take(&mut self.parser).finish()),
                Ok(n) => match self.parser.feed(&buf[..n]) {
                    Ok(true) => return Progress::Done(std::mem::take(&mut self.parser).finish()),
                    Ok(false) => {}
                    Err(e) => return Progress::Done(Err(e)),
                },
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Progress::Pending,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Progress::Failed(e),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_all(chunks: &[&[u8]]) -> Result<Response, HttpError> {
        let mut p = ResponseParser::new();
        for c in chunks {
            if p.feed(c)? {
                break;
            }
        }
        p.finish()
    }

    #[test]
    fn request_is_keepalived_s() {
        let r = request("/health", "198.18.1.2:80", HttpProtocol::V1_0);
        assert_eq!(r, b"GET /health HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: 198.18.1.2:80\r\n\r\n");
        let r = String::from_utf8(request("/x\r\nEvil: 1", "h", HttpProtocol::V1_1)).unwrap();
        assert!(r.starts_with("GET /xEvil: 1 HTTP/1.1\r\n"));
        assert!(r.ends_with("Connection: close\r\n\r\n"));
    }

    #[test]
    fn status_lines() {
        assert_eq!(parse_status_line(b"HTTP/1.1 200 OK\r"), Ok(200));
        assert_eq!(parse_status_line(b"HTTP/1.0 404"), Ok(404));
        assert_eq!(parse_status_line(b"HTTP/1.0 2000 x"), Err(HttpError::BadStatusLine));
        assert_eq!(parse_status_line(b"HTTP/1.0 20"), Err(HttpError::BadStatusLine));
        assert_eq!(parse_status_line(b"ICY 200 OK"), Err(HttpError::BadStatusLine));
        assert_eq!(parse_status_line(b""), Err(HttpError::BadStatusLine));
    }

    #[test]
    fn body_digest_excludes_headers_in_any_split() {
        let resp = b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nhello\n";
        // md5("hello\n")
        let want = "b1946ac92492d2347c6235b4d2611184";
        for split in 0..resp.len() {
            let r = parse_all(&[&resp[..split], &resp[split..]]).unwrap();
            assert_eq!(
                (r.status, hex(&r.digest.unwrap()), r.body_len),
                (200, want.to_string(), 6),
                "split {split}"
            );
        }
    }

    #[test]
    fn content_length_completes_early_and_bare_lf_heads() {
        let mut p = ResponseParser::new();
        assert_eq!(p.feed(b"HTTP/1.1 500 Oops\ncontent-length: 2\n\nab"), Ok(true));
        let r = p.finish().unwrap();
        assert_eq!((r.status, r.content_length, r.body_len), (500, Some(2), 2));
    }

    #[test]
    fn errors() {
        assert_eq!(parse_all(&[b""]), Err(HttpError::NoResponse));
        assert_eq!(parse_all(&[b"HTTP/1.0 200 OK\r\n"]), Err(HttpError::NoResponse));
        assert_eq!(parse_all(&[b"garbage\r\n\r\n"]), Err(HttpError::BadStatusLine));
        let big = vec![b'a'; MAX_HEAD + 10];
        assert_eq!(parse_all(&[b"HTTP/1.0 200 OK\r\n", &big]), Err(HttpError::HeadTooLong));
    }

    #[test]
    fn request_follows_http_protocol() {
        let text = |p| String::from_utf8(request("/h", "web", p)).unwrap();
        assert!(text(HttpProtocol::V1_0).starts_with("GET /h HTTP/1.0\r\n"));
        assert!(!text(HttpProtocol::V1_0).contains("Connection: close"));
        assert!(text(HttpProtocol::V1_0C).starts_with("GET /h HTTP/1.0\r\n"));
        assert!(text(HttpProtocol::V1_0C).contains("Connection: close\r\n"));
        assert!(text(HttpProtocol::V1_1).starts_with("GET /h HTTP/1.1\r\n"));
        assert!(text(HttpProtocol::V1_1).contains("Host: web\r\n"));
    }

    #[test]
    fn judging() {
        let mut url = Url {
            path: "/".into(),
            digest: None,
            status_codes: vec![],
            virtualhost: None,
            regex: None,
            loc: crate::config::diag::Loc { file: std::rc::Rc::from(""), line: 0, col: 0 },
        };
        let ok = |status| {
            let digest = Some([0; 16]);
            Ok(Response { status, digest, regex_matched: None, body_len: 0, content_length: None })
        };
        assert!(judge(&url, ok(204)).ok);
        assert!(!judge(&url, ok(500)).ok);
        url.status_codes = vec![(500, 500)];
        assert!(judge(&url, ok(500)).ok);
        url.digest = Some("00".repeat(16));
        assert!(judge(&url, ok(500)).ok);
        url.digest = Some("11".repeat(16));
        let r = judge(&url, ok(500));
        assert!(!r.ok && r.detail.starts_with("MD5 digest error"), "{r:?}");
    }

    /// Random bytes in random splits: the parser returns, never panics.
    #[test]
    fn random_bytes_never_panic() {
        let mut rng = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        let alphabet = b"HTTP/1.0 200\r\n:Content-Length: 9x";
        for _ in 0..3000 {
            let len = (next() % 200) as usize;
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    let r = next();
                    if r % 2 == 0 {
                        alphabet[(r >> 8) as usize % alphabet.len()]
                    } else {
                        (r >> 16) as u8
                    }
                })
                .collect();
            let split = if len == 0 { 0 } else { (next() as usize) % len };
            let _ = parse_all(&[&bytes[..split], &bytes[split..]]);
            let _ = parse_status_line(&bytes);
        }
    }
}
