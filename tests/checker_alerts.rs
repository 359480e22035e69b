//! The checker engine's SMTP alerts: real servers mail on UP/DOWN by
//! default (each checker's change, or with `no_checker_emails` only the real
//! server's), `smtp_alert off` silences one, and a virtual server mails its
//! quorum changes only with `smtp_alert` on. Real servers and the SMTP
//! server are threads on 127.0.0.1; the engine runs in this process with an
//! in-memory IPVS table.

mod common;

use common::drive;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use vigil::check::{CheckerEngine, MemoryLvs};
use vigil::config::{load_bytes, LoadOptions};

/// An SMTP server that accepts every mail and keeps its DATA.
struct SmtpSink {
    addr: SocketAddr,
    mails: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl SmtpSink {
    fn start() -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let mails = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (mails2, stop2) = (mails.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            while !stop2.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((conn, _)) => {
                        if let Some(mail) = session(conn) {
                            mails2.lock().unwrap().push(mail);
                        }
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        SmtpSink { addr, mails, stop, thread: Some(thread) }
    }

    fn mails(&self) -> Vec<String> {
        self.mails.lock().unwrap().clone()
    }

    /// The Subject lines received so far.
    fn subjects(&self) -> Vec<String> {
        let subjects = self.mails().iter().filter_map(|m| subject(m)).collect();
        subjects
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn subject(mail: &str) -> Option<String> {
    mail.lines().find_map(|l| l.strip_prefix("Subject: ")).map(str::to_string)
}

/// One SMTP session; the DATA of its mail.
fn session(conn: TcpStream) -> Option<String> {
    conn.set_nonblocking(false).ok()?;
    conn.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let mut out = conn.try_clone().ok()?;
    let mut lines = BufReader::new(conn);
    out.write_all(b"220 sink ESMTP\r\n").ok()?;
    let (mut data, mut in_data, mut mail) = (String::new(), false, None);
    loop {
        let mut line = String::new();
        if lines.read_line(&mut line).ok()? == 0 {
            return mail;
        }
        if in_data {
            if line == ".\r\n" {
                in_data = false;
                mail = Some(std::mem::take(&mut data));
                out.write_all(b"250 queued\r\n").ok()?;
            } else {
                data.push_str(&line);
            }
            continue;
        }
        let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
        let reply: &[u8] = match verb.as_str() {
            "DATA" => {
                in_data = true;
                b"354 go ahead\r\n"
            }
            "QUIT" => {
                let _ = out.write_all(b"221 bye\r\n");
                return mail;
            }
            _ => b"250 ok\r\n",
        };
        out.write_all(reply).ok()?;
    }
}

/// A TCP listener that accepts and closes connections until dropped.
struct Listener {
    port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Listener {
    fn start() -> Listener {
        Listener::on(0)
    }

    fn on(port: u16) -> Listener {
        let l = TcpListener::bind(("127.0.0.1", port)).unwrap();
        l.set_nonblocking(true).unwrap();
        let port = l.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = stop.clone();
        let thread = std::thread::spawn(move || {
            while !stop2.load(Ordering::Relaxed) {
                if l.accept().is_err() {
                    std::thread::sleep(Duration::from_millis(10));
                }
            }
        });
        Listener { port, stop, thread: Some(thread) }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A port with nothing listening (connections are refused).
fn dead_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn engine(text: &str) -> CheckerEngine {
    let opts = LoadOptions::with_id("t");
    let loaded = load_bytes("alerts.conf", text.as_bytes(), Path::new("/"), &opts);
    assert!(!loaded.has_errors(), "{:?}\n{text}", loaded.diags);
    CheckerEngine::with_lvs(&loaded.config, Some(Box::new(MemoryLvs::new()))).unwrap()
}

fn globals(smtp: SocketAddr, extra: &str) -> String {
    format!(
        "global_defs {{\n router_id alerts\n notification_email {{\n ops@example.test\n }}\n \
         notification_email_from vigil@example.test\n smtp_server {} {}\n smtp_connect_timeout 5\n {extra}\n}}\n",
        smtp.ip(),
        smtp.port()
    )
}

const TCP: &str = "TCP_CHECK {\n connect_timeout 1\n retry 0\n }\n";

fn rs_name(port: u16) -> String {
    format!("[127.0.0.1]:tcp:{port}")
}

/// Two checkers on real server A, both failing: one mail per checker by
/// default, one per real server change with `no_checker_emails`.
fn two_failing_checkers(no_checker_emails: bool) -> Vec<String> {
    let smtp = SmtpSink::start();
    let (a, a2) = (dead_port(), dead_port());
    let live = Listener::start();
    let text = format!(
        "{}virtual_server 198.18.0.1 80 {{\n delay_loop 1\n lb_algo rr\n lb_kind NAT\n protocol TCP\n \
         real_server 127.0.0.1 {a} {{\n {TCP} TCP_CHECK {{\n connect_port {a2}\n connect_timeout 1\n retry 0\n }}\n }}\n \
         real_server 127.0.0.1 {} {{\n {TCP} }}\n}}\n",
        globals(smtp.addr, if no_checker_emails { "no_checker_emails" } else { "" }),
        live.port
    );
    let mut e = engine(&text);
    let want = if no_checker_emails { 1 } else { 2 };
    let done = drive(&mut e, Duration::from_secs(10), |t| {
        // Both checkers have run by 2.5 s (warmup 1 s + delay_loop 1 s).
        smtp.mails().len() > want || (smtp.mails().len() == want && t > Duration::from_millis(2500))
    });
    assert!(done, "mails: {:?}", smtp.subjects());
    let down = format!("[alerts] Realserver {} of virtual server [198.18.0.1]:tcp:80 - DOWN", rs_name(a));
    let subjects = smtp.subjects();
    assert_eq!(subjects, vec![down; want], "the live real server sends nothing");
    smtp.mails()
}

#[test]
fn each_checker_change_mails_by_default() {
    let mails = two_failing_checkers(false);
    for m in &mails {
        assert!(m.contains("=> TCP CHECK failed on service <="), "{m}");
        assert!(m.contains("X-Mailer: Keepalived"), "{m}");
        assert!(m.contains("From: vigil@example.test") || m.contains("From: <vigil@example.test>"), "{m}");
    }
}

#[test]
fn no_checker_emails_mails_only_real_server_changes() {
    two_failing_checkers(true);
}

#[test]
fn up_down_quorum_alerts_and_smtp_alert_off() {
    let smtp = SmtpSink::start();
    let quiet = Listener::start();
    let quiet_port = quiet.port;
    let up = Listener::start();
    // VS 1 (smtp_alert on): a real server with `smtp_alert off` whose loss
    // loses quorum. VS 2 (alpha, VS alerts off by default): a real server
    // that comes UP at its first check.
    let text = format!(
        "{}virtual_server 198.18.0.1 80 {{\n delay_loop 1\n lb_algo rr\n lb_kind NAT\n protocol TCP\n smtp_alert\n \
         real_server 127.0.0.1 {quiet_port} {{\n smtp_alert off\n {TCP} }}\n}}\n\
         virtual_server 198.18.0.2 80 {{\n delay_loop 1\n lb_algo rr\n lb_kind NAT\n protocol TCP\n alpha\n \
         real_server 127.0.0.1 {} {{\n {TCP} }}\n}}\n",
        globals(smtp.addr, ""),
        up.port
    );
    let mut e = engine(&text);
    let vs_down = "[alerts] Virtualserver [198.18.0.1]:tcp:80 - DOWN".to_string();
    let vs_up = "[alerts] Virtualserver [198.18.0.1]:tcp:80 - UP".to_string();
    let rs_up =
        format!("[alerts] Realserver {} of virtual server [198.18.0.2]:tcp:80 - UP", rs_name(up.port));
    let mut quiet = Some(quiet);
    let mut restarted = None;
    let done = drive(&mut e, Duration::from_secs(20), |_| {
        let s = smtp.subjects();
        if s.contains(&rs_up) && quiet.is_some() {
            quiet = None; // the quiet real server stops answering
        }
        if s.contains(&vs_down) && restarted.is_none() {
            restarted = Some(Listener::on(quiet_port));
        }
        s.contains(&vs_up)
    });
    let subjects = smtp.subjects();
    assert!(done, "mails: {subjects:?}");
    assert_eq!(subjects, vec![rs_up.clone(), vs_down, vs_up], "nothing from the quiet real server or VS 2");
    let mails = smtp.mails();
    let body =
        |subject: &str| mails.iter().find(|m| self::subject(m).as_deref() == Some(subject)).unwrap().clone();
    assert!(body(&rs_up).contains("=> TCP CHECK succeed on service <="));
    assert!(body("[alerts] Virtualserver [198.18.0.1]:tcp:80 - DOWN").contains("=> Lost quorum 1-0=1 > 0 <="));
    assert!(
        body("[alerts] Virtualserver [198.18.0.1]:tcp:80 - UP").contains("=> Gained quorum 1+0=1 <= 1 <=")
    );
}
