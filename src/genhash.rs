//! `genhash`: keepalived's digest tool. Fetches a URL from one server and
//! prints the MD5 of the response body, the value HTTP_GET's `digest`
//! compares against.
//!
//! `genhash -s IP -p PORT -u /path [-V vhost] [-P 1.0|1.0c|1.1] [-t secs] [-m fwmark] [-v]`
//! `-S` speaks TLS when built with the `ssl` feature (no certificate
//! verification, as keepalived; the `-V` name, if a DNS name, goes in SNI),
//! and is an error otherwise. Blocking I/O is fine: it is a one-shot tool.

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use crate::check::http::{hex, request, ResponseParser};
use crate::config::model::HttpProtocol;

#[derive(Debug, PartialEq)]
struct Args {
    server: IpAddr,
    port: u16,
    url: String,
    vhost: Option<String>,
    protocol: HttpProtocol,
    timeout: Duration,
    fwmark: Option<u32>,
    ssl: bool,
    verbose: bool,
}

const USAGE: &str =
    "Usage: genhash -s IP [-p PORT] -u URL [-S] [-V VHOST] [-P 1.0|1.0c|1.1] [-t SECS] [-m FWMARK] [-v]\n\
  -s, --server        server address\n\
  -p, --port          port (default 80, 443 with -S)\n\
  -u, --url           path to fetch\n\
  -S, --use-ssl       use TLS (SSL_GET)\n\
  -V, --use-virtualhost  Host: header value\n\
  -P, --protocol      HTTP protocol: 1.0, 1.0c or 1.1 (default 1.0)\n\
  -t, --timeout       seconds (default 5)\n\
  -m, --fwmark        SO_MARK for the connection\n\
  -v, --verbose       print headers, body length and timing\n";

fn parse(args: &[String]) -> Result<Args, String> {
    let (mut server, mut port, mut url) = (None, None, None);
    let mut a = Args {
        server: IpAddr::from([0, 0, 0, 0]),
        port: 80,
        url: String::new(),
        vhost: None,
        protocol: HttpProtocol::V1_0,
        timeout: Duration::from_secs(5),
        fwmark: None,
        ssl: false,
        verbose: false,
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let (flag, glued) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v.to_string())),
            _ => (arg.as_str(), None),
        };
        let mut value =
            || glued.clone().or_else(|| it.next().cloned()).ok_or(format!("{flag} needs a value"));
        match flag {
            "-s" | "--server" => server = Some(value()?.parse().map_err(|_| "-s needs an IP address")?),
            "-p" | "--port" => port = Some(value()?.parse().map_err(|_| "-p needs a port number")?),
            "-u" | "--url" => url = Some(value()?),
            "-V" | "--use-virtualhost" => a.vhost = Some(value()?),
            "-P" | "--protocol" => {
                a.protocol = match value()?.to_ascii_lowercase().as_str() {
                    "1.0" => HttpProtocol::V1_0,
                    "1.0c" => HttpProtocol::V1_0C,
                    "1.1" => HttpProtocol::V1_1,
                    p => return Err(format!("unknown protocol '{p}' (1.0, 1.0c or 1.1)")),
                }
            }
            "-t" | "--timeout" => {
                // The config's timer syntax (seconds, up to 6 decimals): no float parser linked.
                a.timeout = crate::config::parse::parse_timer(&value()?).ok_or("-t needs seconds")?;
            }
            "-m" | "--fwmark" => a.fwmark = Some(value()?.parse().map_err(|_| "-m needs a number")?),
            "-S" | "--use-ssl" => a.ssl = true,
            "-v" | "--verbose" => a.verbose = true,
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown option '{other}'")),
        }
    }
    a.server = server.ok_or("-s is required")?;
    a.url = url.ok_or("-u is required")?;
    a.port = port.unwrap_or(if a.ssl { 443 } else { 80 });
    Ok(a)
}

pub fn main(args: &[String]) -> i32 {
    let a = match parse(args) {
        Ok(a) => a,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("genhash: {e}");
            }
            eprint!("{USAGE}");
            return if e.is_empty() { 0 } else { 1 };
        }
    };
    if a.ssl && cfg!(not(feature = "ssl")) {
        eprintln!("genhash: -S: this build has no TLS support (cargo feature `ssl`)");
        return 1;
    }
    match fetch(&a) {
        Ok(digest) => {
            println!("{digest}");
            0
        }
        Err(e) => {
            eprintln!("genhash: {e}");
            1
        }
    }
}

fn fetch(a: &Args) -> Result<String, String> {
    let addr = SocketAddr::new(a.server, a.port);
    let started = Instant::now();
    let mut stream =
        TcpStream::connect_timeout(&addr, a.timeout).map_err(|e| format!("connect to {addr}: {e}"))?;
    if let Some(mark) = a.fwmark {
        // SAFETY: the option value is a valid u32 for its length.
        let rc = unsafe {
            libc::setsockopt(
                stream.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_MARK,
                (&mark as *const u32).cast(),
                std::mem::size_of::<u32>() as libc::socklen_t,
            )
        };
        if rc != 0 {
            return Err(format!("SO_MARK {mark}: {}", std::io::Error::last_os_error()));
        }
    }
    stream.set_read_timeout(Some(a.timeout)).and_then(|()| stream.set_write_timeout(Some(a.timeout))).ok();
    let host = a.vhost.clone().unwrap_or_else(|| match a.server {
        IpAddr::V6(ip) => format!("[{ip}]:{}", a.port),
        ip => format!("{ip}:{}", a.port),
    });
    let req = request(&a.url, &host, a.protocol);
    #[cfg(feature = "ssl")]
    if a.ssl {
        let mut session = crate::check::tls::TlsSession::new(a.server, a.vhost.as_deref())?;
        return exchange(&mut session.over(&mut stream), &req, a, started);
    }
    exchange(&mut stream, &req, a, started)
}

/// Send the request, read the response, return the body's MD5 in hex.
fn exchange<S: Read + Write>(
    stream: &mut S,
    req: &[u8],
    a: &Args,
    started: Instant,
) -> Result<String, String> {
    stream.write_all(req).and_then(|()| stream.flush()).map_err(|e| format!("send: {e}"))?;
    let mut parser = ResponseParser::new();
    let mut head = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        let n = match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) => return Err(format!("receive: {e}")),
        };
        if a.verbose && head.len() < 16 * 1024 {
            head.extend_from_slice(&buf[..n]);
        }
        if parser.feed(&buf[..n]).map_err(|e| format!("response: {e}"))? {
            break;
        }
    }
    let resp = parser.finish().map_err(|e| format!("response: {e}"))?;
    if a.verbose {
        let text = String::from_utf8_lossy(&head);
        let headers = text.split("\r\n\r\n").next().unwrap_or("");
        eprintln!("-----------------------[    HTTP Header Buffer    ]-----------------------\n{headers}");
        eprintln!("HTTP status code: {}", resp.status);
        eprintln!(
            "body length: {} bytes; response time: {} ms",
            resp.body_len,
            started.elapsed().as_millis()
        );
    }
    Ok(resp.digest.map(|d| hex(&d)).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn keepalived_flags() {
        let a = parse(&args("-s 198.18.0.1 -p 8080 -u /index.html -V www -P 1.1 -t 2.5 -m 7 -v")).unwrap();
        assert_eq!(a.server, "198.18.0.1".parse::<IpAddr>().unwrap());
        assert_eq!((a.port, a.url.as_str(), a.vhost.as_deref()), (8080, "/index.html", Some("www")));
        assert_eq!(a.protocol, HttpProtocol::V1_1);
        assert_eq!(a.timeout, Duration::from_millis(2500));
        assert_eq!((a.fwmark, a.verbose, a.ssl), (Some(7), true, false));
        let b = parse(&args("--server=2001:db8::1 --url=/ -S")).unwrap();
        assert_eq!((b.port, b.ssl), (443, true));
    }

    #[test]
    fn missing_or_bad_arguments() {
        assert!(parse(&args("-u /")).is_err());
        assert!(parse(&args("-s nothost -u /")).is_err());
        assert!(parse(&args("-s 198.18.0.1 -u / -P 2")).is_err());
        assert!(parse(&args("-s 198.18.0.1 -u / -p")).is_err());
    }
}
