//! SMTP alerts over real sockets: a scripted SMTP server on 127.0.0.1 (a
//! thread per connection, recording the dialogue) and a mio poll loop
//! driving a `Mailer` the way the engines do.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant};

use mio::{Events, Poll};
use vigil::config::model::{GlobalDefs, SmtpServer};
use vigil::smtp::{check_body, Alert, Mailer, SendError, SendResult, Step, VrrpState, MAX_IN_FLIGHT};

const TOKEN_BASE: usize = 40;

/// How the test server behaves.
#[derive(Clone, Copy)]
enum Script {
    /// A well-behaved server.
    Accept,
    /// Accept the connection and never say anything.
    Silent,
    /// Answer 550 to every RCPT TO.
    RejectRcpt,
}

/// What the server saw on one connection.
#[derive(Debug, Default)]
struct Session {
    commands: Vec<String>,
    /// The DATA lines as received (still dot-stuffed), without CRLF.
    data: Vec<String>,
    /// The session stopped counting as open (before answering QUIT).
    left: bool,
}

/// Connections open at the server, and the most seen at once.
#[derive(Default)]
struct Gauge {
    open: AtomicUsize,
    peak: AtomicUsize,
}

impl Gauge {
    fn enter(&self) {
        let open = self.open.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(open, Ordering::SeqCst);
    }

    fn leave(&self) {
        self.open.fetch_sub(1, Ordering::SeqCst);
    }
}

struct TestServer {
    addr: SocketAddr,
    sessions: mpsc::Receiver<Session>,
    gauge: Arc<Gauge>,
}

impl TestServer {
    fn start(script: Script) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, sessions) = mpsc::channel();
        let gauge = Arc::new(Gauge::default());
        let g = gauge.clone();
        thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { return };
                let (tx, g) = (tx.clone(), g.clone());
                g.enter();
                thread::spawn(move || {
                    let session = serve(conn, script, &g);
                    if !session.left {
                        g.leave();
                    }
                    let _ = tx.send(session);
                });
            }
        });
        TestServer { addr, sessions, gauge }
    }

    fn session(&self) -> Session {
        self.sessions.recv_timeout(Duration::from_secs(5)).expect("server session")
    }
}

fn serve(conn: TcpStream, script: Script, gauge: &Gauge) -> Session {
    let mut session = Session::default();
    let mut out = conn.try_clone().unwrap();
    let mut input = BufReader::new(conn);
    if let Script::Silent = script {
        // Hold the connection open until the client gives up.
        let mut line = String::new();
        let _ = input.read_line(&mut line);
        return session;
    }
    let _ = out.write_all(b"220-smtp.test ESMTP\r\n220 ready\r\n");
    let mut line = String::new();
    loop {
        line.clear();
        if input.read_line(&mut line).unwrap_or(0) == 0 {
            return session;
        }
        let cmd = line.trim_end_matches(['\r', '\n']).to_string();
        session.commands.push(cmd.clone());
        let verb = cmd.split([' ', ':']).next().unwrap_or("").to_ascii_uppercase();
        let reply: &[u8] = match (verb.as_str(), script) {
            ("HELO", _) => b"250 smtp.test\r\n",
            ("MAIL", _) => b"250 2.1.0 Ok\r\n",
            ("RCPT", Script::RejectRcpt) => b"550 5.1.1 <nobody@example.com>: Recipient address rejected\r\n",
            ("RCPT", _) => b"250 2.1.5 Ok\r\n",
            ("DATA", _) => {
                let _ = out.write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n");
                loop {
                    line.clear();
                    if input.read_line(&mut line).unwrap_or(0) == 0 {
                        return session;
                    }
                    let l = line.trim_end_matches(['\r', '\n']).to_string();
                    if l == "." {
                        break;
                    }
                    session.data.push(l);
                }
                b"250 2.0.0 Ok: queued as 1234\r\n"
            }
            ("QUIT", _) => {
                // Before the answer: the client frees its slot only after it.
                gauge.leave();
                session.left = true;
                let _ = out.write_all(b"221 2.0.0 Bye\r\n");
                return session;
            }
            _ => b"502 5.5.2 Error: command not recognized\r\n",
        };
        let _ = out.write_all(reply);
    }
}

fn globals(server: SocketAddr, timeout: Duration) -> GlobalDefs {
    GlobalDefs {
        router_id: Some("LB1".into()),
        notification_email: vec!["ops@example.com".into(), "nobody@example.com".into()],
        notification_email_from: Some("vigil@lb1.example.com".into()),
        smtp_server: Some(SmtpServer { host: server.ip().to_string(), port: server.port() }),
        smtp_connect_timeout: timeout,
        smtp_helo_name: Some("lb1.example.com".into()),
        ..GlobalDefs::default()
    }
}

/// What a poll loop saw while driving the mailer.
struct Run {
    results: Vec<(Duration, SendResult)>,
    /// Longest time between two wakeups of the loop.
    max_gap: Duration,
    ticks: usize,
}

/// Drive `mailer` like an engine's loop that also has a 10 ms tick of its
/// own, until `want` results arrived and the mailer is idle, or `limit`.
fn drive(mailer: &mut Mailer, want: usize, limit: Duration) -> Run {
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(16);
    let start = Instant::now();
    let tick = Duration::from_millis(10);
    let mut run = Run { results: Vec::new(), max_gap: Duration::ZERO, ticks: 0 };
    let mut last = start;
    while start.elapsed() < limit && !(run.results.len() >= want && mailer.is_idle()) {
        let now = Instant::now();
        let wait = mailer.poll_timeout().map_or(tick, |t| t.saturating_duration_since(now).min(tick));
        poll.poll(&mut events, Some(wait)).unwrap();
        let now = Instant::now();
        run.max_gap = run.max_gap.max(now - last);
        last = now;
        run.ticks += 1;
        for ev in events.iter() {
            assert!(mailer.handle_event(poll.registry(), ev.token(), now), "foreign token {:?}", ev.token());
        }
        if mailer.poll_timeout().is_some_and(|t| t <= now) {
            mailer.handle_timeout(poll.registry(), now);
        }
        while let Some(r) = mailer.poll_result() {
            r.log();
            run.results.push((start.elapsed(), r));
        }
    }
    run
}

#[test]
fn alert_delivered_with_envelope_headers_and_dot_stuffing() {
    let server = TestServer::start(Script::Accept);
    let mut mailer = Mailer::from_config(&globals(server.addr, Duration::from_secs(5)), TOKEN_BASE).unwrap();
    let mut alert = Alert::vrrp_instance("VI_1", VrrpState::Master);
    alert.body.push_str("\n.leading dot\n.");
    mailer.send(&alert, Instant::now());
    let run = drive(&mut mailer, 1, Duration::from_secs(5));
    assert_eq!(run.results.len(), 1);
    let result = &run.results[0].1;
    assert_eq!(result.outcome, Ok(()));
    assert_eq!(result.subject, "[LB1] VRRP Instance VI_1 - Entering MASTER state");

    let s = server.session();
    assert_eq!(
        s.commands,
        [
            "HELO lb1.example.com",
            "MAIL FROM:<vigil@lb1.example.com>",
            "RCPT TO:<ops@example.com>",
            "RCPT TO:<nobody@example.com>",
            "DATA",
            "QUIT",
        ]
    );
    let blank = s.data.iter().position(String::is_empty).expect("blank line after headers");
    let (headers, body) = (&s.data[..blank], &s.data[blank + 1..]);
    let names: Vec<&str> = headers.iter().map(|h| h.split(':').next().unwrap()).collect();
    assert_eq!(names, ["Date", "From", "Subject", "X-Mailer", "To"]);
    assert!(headers.contains(&"From: vigil@lb1.example.com".to_string()));
    assert!(headers.contains(&"Subject: [LB1] VRRP Instance VI_1 - Entering MASTER state".to_string()));
    assert!(headers.contains(&"X-Mailer: Keepalived".to_string()));
    assert!(headers.contains(&"To: ops@example.com, nobody@example.com".to_string()));
    // RFC 5322: "Thu, 01 Jan 2025 12:00:00 +0000".
    let date = headers[0].strip_prefix("Date: ").unwrap();
    let parts: Vec<&str> = date.split(' ').collect();
    assert_eq!(parts.len(), 6, "{date}");
    assert!(parts[0].ends_with(',') && parts[3].len() == 4 && parts[4].len() == 8, "{date}");
    assert!(parts[5].starts_with(['+', '-']) && parts[5].len() == 5, "{date}");
    // Lines starting with a dot travel doubled.
    assert_eq!(body, ["=> VRRP Instance is now owning VRRP VIPs <=", "..leading dot", ".."]);
}

#[test]
fn several_alerts_share_the_connection_slots() {
    let server = TestServer::start(Script::Accept);
    let mut mailer = Mailer::from_config(&globals(server.addr, Duration::from_secs(5)), TOKEN_BASE).unwrap();
    let n = MAX_IN_FLIGHT * 2 + 1;
    let now = Instant::now();
    for i in 0..n {
        let rs = format!("[198.18.0.{}]:tcp:80", i + 2);
        mailer.send(&Alert::real_server(&rs, "[198.18.0.1]:tcp:80", false, &check_body("TCP", false)), now);
    }
    let run = drive(&mut mailer, n, Duration::from_secs(10));
    assert_eq!(run.results.len(), n);
    assert!(run.results.iter().all(|(_, r)| r.outcome.is_ok()), "{:?}", run.results);
    let mut got: Vec<String> = Vec::new();
    for _ in 0..n {
        let data = server.session().data;
        assert!(
            data.ends_with(&["".to_string(), "=> TCP CHECK failed on service <=".to_string()]),
            "{data:?}"
        );
        got.extend(data.into_iter().filter_map(|l| l.strip_prefix("Subject: ").map(str::to_string)));
    }
    got.sort();
    let mut want: Vec<String> = (0..n)
        .map(|i| {
            format!(
                "[LB1] Realserver [198.18.0.{}]:tcp:80 of virtual server [198.18.0.1]:tcp:80 - DOWN",
                i + 2
            )
        })
        .collect();
    want.sort();
    assert_eq!(got, want);
    let peak = server.gauge.peak.load(Ordering::SeqCst);
    assert!((1..=MAX_IN_FLIGHT).contains(&peak), "{peak} connections at once");
}

#[test]
fn silent_server_times_out_without_blocking_the_loop() {
    let server = TestServer::start(Script::Silent);
    let timeout = Duration::from_millis(400);
    let mut mailer = Mailer::from_config(&globals(server.addr, timeout), TOKEN_BASE).unwrap();
    mailer.send(&Alert::vrrp_instance("VI_1", VrrpState::Backup), Instant::now());
    let run = drive(&mut mailer, 1, Duration::from_secs(5));
    assert_eq!(run.results.len(), 1);
    let (at, result) = &run.results[0];
    assert_eq!(result.outcome, Err(SendError::Timeout(Step::Banner)));
    assert!(*at >= timeout && *at < timeout + Duration::from_millis(300), "timed out after {at:?}");
    // The loop kept its 10 ms tick throughout.
    assert!(run.max_gap < Duration::from_millis(60), "loop stalled for {:?}", run.max_gap);
    assert!(run.ticks >= 30, "only {} wakeups", run.ticks);
    // The server saw the connection close after the timeout.
    assert!(server.session().commands.is_empty());
}

#[test]
fn refused_connection_fails_at_once() {
    let addr = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let mut mailer = Mailer::from_config(&globals(addr, Duration::from_secs(30)), TOKEN_BASE).unwrap();
    mailer.send(&Alert::vrrp_instance("VI_1", VrrpState::Fault), Instant::now());
    let run = drive(&mut mailer, 1, Duration::from_secs(5));
    assert_eq!(run.results.len(), 1);
    let (at, result) = &run.results[0];
    match &result.outcome {
        Err(SendError::Connect(e)) => assert!(e.contains("refused"), "{e}"),
        other => panic!("expected a connect error, got {other:?}"),
    }
    assert!(*at < Duration::from_millis(200), "took {at:?}");
}

#[test]
fn rejected_recipient_is_reported_with_the_reply() {
    let server = TestServer::start(Script::RejectRcpt);
    let mut mailer = Mailer::from_config(&globals(server.addr, Duration::from_secs(5)), TOKEN_BASE).unwrap();
    mailer.send(&Alert::virtual_server("[198.18.0.1]:tcp:80", false, "=> quorum lost <="), Instant::now());
    let run = drive(&mut mailer, 1, Duration::from_secs(5));
    assert_eq!(run.results.len(), 1);
    let err = run.results[0].1.outcome.clone().unwrap_err();
    assert!(
        matches!(&err, SendError::Rejected { step: Step::Rcpt(0), reply } if reply.code == 550),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "SMTP server answered RCPT TO with 550 5.1.1 <nobody@example.com>: Recipient address rejected"
    );
    // The client said goodbye instead of sending the message.
    let s = server.session();
    assert_eq!(s.commands.last().map(String::as_str), Some("QUIT"));
    assert!(!s.commands.iter().any(|c| c == "DATA"));
}
