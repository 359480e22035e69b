//! SSL_GET and `genhash -S` against a rustls server on 127.0.0.1 with a
//! self-signed certificate (accepted: keepalived does no verification).
//! Run with `cargo test --features ssl --test ssl_get`. The certificate is
//! made by the `openssl` command at test time; without it the tests skip,
//! saying why.
#![cfg(feature = "ssl")]

mod common;

use common::drive;
use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use md5::{Digest, Md5};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::{ServerConfig, ServerConnection};
use vigil::check::lvs::ProtocolKey;
use vigil::check::{CheckerEngine, MemoryLvs, SvcAddr};
use vigil::config::{load_bytes, LoadOptions};
use vigil::runtime::Subsystem;

const BODY: &[u8] = b"<html>vigil over TLS</html>\n";
const VHOST: &str = "www.example.test";

fn md5_hex(data: &[u8]) -> String {
    Md5::digest(data).iter().map(|b| format!("{b:02x}")).collect()
}

/// A fresh self-signed EC certificate and its PKCS#8 key (DER), or why not.
fn self_signed() -> Result<(Vec<u8>, Vec<u8>), String> {
    let dir = std::env::temp_dir().join(format!(
        "vigil-ssl-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let run = |args: &[&str]| -> Result<(), String> {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(&dir)
            .output()
            .map_err(|e| format!("no openssl command ({e})"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!("openssl {}: {}", args[0], String::from_utf8_lossy(&out.stderr).trim()))
        }
    };
    let made = run(&[
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        "key.pem",
        "-outform",
        "DER",
        "-out",
        "cert.der",
        "-days",
        "1",
        "-subj",
        "/CN=vigil-test",
    ])
    .and_then(|()| {
        run(&["pkcs8", "-topk8", "-nocrypt", "-in", "key.pem", "-outform", "DER", "-out", "key.der"])
    });
    let read = |name: &str| std::fs::read(dir.join(name)).map_err(|e| format!("{name}: {e}"));
    let result = made.and_then(|()| Ok((read("cert.der")?, read("key.der")?)));
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// What one connection to the test server asked.
#[derive(Clone, Debug)]
struct Seen {
    sni: Option<String>,
    request: String,
}

/// A TLS server answering every request with BODY, on 127.0.0.1.
struct TlsServer {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl TlsServer {
    /// `close_notify`: end each response with a TLS close_notify, or just
    /// close TCP as many HTTP/1.0 servers do.
    fn start(cert: &[u8], key: &[u8], close_notify: bool) -> TlsServer {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![CertificateDer::from(cert.to_vec())],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.to_vec())),
            )
            .unwrap();
        let config = Arc::new(config);
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (seen2, stop2) = (seen.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            while !stop2.load(Ordering::Relaxed) {
                let Ok((sock, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                };
                if let Some(s) = serve(config.clone(), sock, close_notify) {
                    seen2.lock().unwrap().push(s);
                }
            }
        });
        TlsServer { addr, seen, stop, thread: Some(thread) }
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(config: Arc<ServerConfig>, mut sock: std::net::TcpStream, close_notify: bool) -> Option<Seen> {
    sock.set_nonblocking(false).ok()?;
    sock.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let mut conn = ServerConnection::new(config).ok()?;
    let mut tls = rustls::Stream::new(&mut conn, &mut sock);
    let mut request = Vec::new();
    let mut buf = [0u8; 1024];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = tls.read(&mut buf).ok()?;
        if n == 0 {
            return None;
        }
        request.extend_from_slice(&buf[..n]);
    }
    let head = format!("HTTP/1.0 200 OK\r\nContent-Type: text/html\r\nX-Pad: {}\r\n\r\n", "p".repeat(3000));
    tls.write_all(head.as_bytes()).ok()?;
    tls.write_all(BODY).ok()?;
    if close_notify {
        tls.conn.send_close_notify();
    }
    tls.flush().ok()?;
    let sni = conn.server_name().map(str::to_string);
    Some(Seen { sni, request: String::from_utf8_lossy(&request).into_owned() })
}

/// A self-signed certificate and key; without openssl the test fails with the reason.
fn cert() -> (Vec<u8>, Vec<u8>) {
    self_signed().unwrap_or_else(|why| {
        panic!("cannot make a test certificate: {why} (`sh tests/deps.sh` installs openssl)")
    })
}

#[test]
fn ssl_get_checks_digest_and_sends_sni_only_when_enabled() {
    let (cert, key) = cert();
    // A: digest right, enable_sni; B: digest wrong; C: no SNI, server
    // closes without close_notify.
    let a = TlsServer::start(&cert, &key, true);
    let b = TlsServer::start(&cert, &key, true);
    let c = TlsServer::start(&cert, &key, false);
    let good = md5_hex(BODY);
    let bad = md5_hex(b"something else");
    let rs = |srv: &TlsServer, digest: &str, sni: &str| {
        format!(
            "real_server 127.0.0.1 {} {{\n weight 2\n SSL_GET {{\n url {{\n path /health\n digest {digest}\n }}\n \
             connect_timeout 2\n retry 0\n {sni}\n }}\n }}\n",
            srv.addr.port()
        )
    };
    let text = format!(
        "virtual_server 198.18.0.1 443 {{\n delay_loop 1\n lb_algo rr\n lb_kind NAT\n protocol TCP\n alpha\n \
         virtualhost {VHOST}\n{}{}{}}}\n",
        rs(&a, &good, "enable_sni"),
        rs(&b, &bad, ""),
        rs(&c, &good, ""),
    );
    let opts = LoadOptions::with_id("t");
    let loaded = load_bytes("ssl.conf", text.as_bytes(), Path::new("/"), &opts);
    assert!(!loaded.has_errors(), "{:?}\n{text}", loaded.diags);
    let lvs = MemoryLvs::new();
    let mut engine = CheckerEngine::with_lvs(&loaded.config, Some(Box::new(lvs.clone()))).unwrap();
    let svc = SvcAddr::Addr { protocol: ProtocolKey::Tcp, addr: IpAddr::from([198, 18, 0, 1]), port: 443 };
    let lo = IpAddr::from([127, 0, 0, 1]);
    let weight = |s: &TlsServer| lvs.weight(&svc, lo, s.addr.port());
    let finished = drive(&mut engine, Duration::from_secs(15), |_| {
        weight(&a).is_some() && weight(&c).is_some() && b.seen().len() >= 2
    });
    assert!(
        finished,
        "A {:?} C {:?}, B answered {} times; {}",
        weight(&a),
        weight(&c),
        b.seen().len(),
        engine.status()
    );
    assert_eq!(weight(&b), None, "the wrong digest keeps B out");

    let (seen_a, seen_c) = (a.seen(), c.seen());
    assert_eq!(seen_a[0].sni.as_deref(), Some(VHOST), "enable_sni sends the virtualhost");
    assert_eq!(seen_c[0].sni, None, "no SNI without enable_sni");
    assert!(b.seen().iter().all(|s| s.sni.is_none()));
    for s in seen_a.iter().chain(&seen_c) {
        assert!(s.request.starts_with("GET /health HTTP/1.0\r\n"), "{:?}", s.request);
        assert!(s.request.contains(&format!("\r\nHost: {VHOST}\r\n")), "{:?}", s.request);
    }
}

fn vigil() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_vigil"))
}

#[test]
fn genhash_dash_s_prints_the_body_md5() {
    let (cert, key) = cert();
    for close_notify in [true, false] {
        let srv = TlsServer::start(&cert, &key, close_notify);
        let port = srv.addr.port().to_string();
        let out = Command::new(vigil())
            .args(["genhash", "-S", "-s", "127.0.0.1", "-p", &port, "-u", "/x", "-V", VHOST, "-t", "5"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "close_notify {close_notify}: {stderr}");
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), md5_hex(BODY));
        let seen = srv.seen();
        assert_eq!(seen[0].sni.as_deref(), Some(VHOST), "-V names the server for SNI");
        assert!(seen[0].request.starts_with("GET /x HTTP/1.0\r\n"));
    }
    // Nothing listening: an error, not a hang.
    let free = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port().to_string();
    let out = Command::new(vigil())
        .args(["genhash", "-S", "-s", "127.0.0.1", "-p", &free, "-u", "/"])
        .output()
        .unwrap();
    assert!(!out.status.success());
}

#[test]
fn a_plain_http_server_fails_ssl_get() {
    // Not TLS at all: genhash -S reports an error rather than a digest.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let t = std::thread::spawn(move || {
        if let Ok((mut s, _)) = listener.accept() {
            let mut buf = [0u8; 512];
            let _ = s.read(&mut buf);
            let _ = s.write_all(b"HTTP/1.0 200 OK\r\n\r\nplain\n");
        }
    });
    let out = Command::new(vigil())
        .args(["genhash", "-S", "-s", "127.0.0.1", "-p", &port, "-u", "/"])
        .output()
        .unwrap();
    assert!(!out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    let _ = t.join();
}
