//! genhash against a real HTTP server on loopback: the digest it prints is
//! the MD5 of the body, as md5sum computes it.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::Command;

fn serve(body: &'static [u8], requests: usize) -> (u16, std::thread::JoinHandle<Vec<String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = std::thread::spawn(move || {
        let mut seen = Vec::new();
        for _ in 0..requests {
            let (mut s, _) = listener.accept().unwrap();
            let mut buf = [0u8; 4096];
            let n = s.read(&mut buf).unwrap();
            seen.push(String::from_utf8_lossy(&buf[..n]).into_owned());
            let head = format!("HTTP/1.0 200 OK\r\nContent-Length: {}\r\n\r\n", body.len());
            s.write_all(head.as_bytes()).unwrap();
            s.write_all(body).unwrap();
        }
        seen
    });
    (port, handle)
}

fn md5sum(data: &[u8]) -> String {
    let path = std::env::temp_dir().join(format!("vigil-genhash-{}", std::process::id()));
    std::fs::write(&path, data).unwrap();
    let out = Command::new("md5sum").arg(&path).output().unwrap();
    std::fs::remove_file(&path).ok();
    String::from_utf8_lossy(&out.stdout).split_whitespace().next().unwrap().to_string()
}

#[test]
fn digest_matches_md5sum_under_both_names() {
    const BODY: &[u8] = b"<html><body>vigil health page\n</body></html>\n";
    let (port, server) = serve(BODY, 2);
    let vigil = env!("CARGO_BIN_EXE_vigil");
    let out = Command::new(vigil)
        .args(["genhash", "-s", "127.0.0.1", "-p", &port.to_string(), "-u", "/health", "-V", "www.example"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let want = md5sum(BODY);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), want);

    // The multi-call name: a `genhash` symlink to the same binary.
    let dir = std::env::temp_dir().join(format!("vigil-genhash-link-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let link = dir.join("genhash");
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(vigil, &link).unwrap();
    let out =
        Command::new(&link).args(["-s", "127.0.0.1", "-p", &port.to_string(), "-u", "/"]).output().unwrap();
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), want);

    let seen = server.join().unwrap();
    assert!(seen[0].starts_with("GET /health HTTP/1.0\r\n"), "{}", seen[0]);
    assert!(seen[0].contains("User-Agent: KeepAliveClient\r\n"));
    assert!(seen[0].contains("Host: www.example\r\n"));
    assert!(seen[1].contains(&format!("Host: 127.0.0.1:{port}\r\n")));
}

#[test]
fn unreachable_server_fails_cleanly() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let out = Command::new(env!("CARGO_BIN_EXE_vigil"))
        .args(["genhash", "-s", "127.0.0.1", "-p", &port.to_string(), "-u", "/", "-t", "1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("connect"));
}
