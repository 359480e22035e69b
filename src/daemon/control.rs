//! The control socket: each child listens on `<run dir>/<name>.ctl`
//! (mode 0600, so root only) and answers one request per connection.
//! Requests are one line; the only one today is `status`, answered with the
//! child's status object as one line of JSON. `vigil status` asks every
//! child it finds and prints a table, or the raw JSON with `--json`.

use std::io::{self, Read, Write};
use std::ops::Range;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use mio::{Interest, Registry, Token};

use super::json::Json;
use super::{ChildKind, RunPaths};

/// A client gets this long to send its request and take the reply; then
/// its connection is closed.
const CONN_TIMEOUT: Duration = Duration::from_secs(1);
const CLIENT_TIMEOUT: Duration = Duration::from_secs(2);
const MAX_REQUEST: usize = 256;
const MAX_REPLY: u64 = 16 << 20;

/// The listening socket and the connections being served. Nothing here
/// blocks: the loop that serves `vigil status` also sends 10 ms adverts,
/// and a client that is slow to send its request (a busy machine does not
/// schedule it) or to read the reply must not hold that loop.
pub struct ControlServer {
    listener: mio::net::UnixListener,
    path: PathBuf,
    listener_token: Token,
    /// One token per connection slot.
    conn_tokens: Range<usize>,
    conns: Vec<Option<Conn>>,
}

struct Conn {
    stream: mio::net::UnixStream,
    request: Vec<u8>,
    /// The answer, once the request is complete, and how much of it is sent.
    reply: Option<Vec<u8>>,
    sent: usize,
    deadline: Instant,
}

impl ControlServer {
    /// Bind `path`, replacing a stale socket; only one live owner exists
    /// because the pid-file locks guard the run directory.
    pub fn bind(path: &Path) -> io::Result<ControlServer> {
        let _ = std::fs::remove_file(path);
        let listener = mio::net::UnixListener::bind(path)?;
        // Connecting needs write permission, which the default umask already
        // withholds from others; 0600 also shuts out the group.
        std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
        Ok(ControlServer {
            listener,
            path: path.to_path_buf(),
            listener_token: Token(usize::MAX),
            conn_tokens: 0..0,
            conns: Vec::new(),
        })
    }

    /// Register the listener as `token`; accepted connections use the
    /// tokens of `conn_tokens`, so at most that many are served at once.
    pub fn register(
        &mut self,
        registry: &Registry,
        token: Token,
        conn_tokens: Range<usize>,
    ) -> io::Result<()> {
        registry.register(&mut self.listener, token, Interest::READABLE)?;
        self.listener_token = token;
        self.conns = conn_tokens.clone().map(|_| None).collect();
        self.conn_tokens = conn_tokens;
        Ok(())
    }

    /// Is `token` the listener's or a connection's?
    pub fn owns(&self, token: Token) -> bool {
        token == self.listener_token || self.conn_tokens.contains(&token.0)
    }

    /// Readiness on one of our tokens: accept, read what requests have
    /// arrived, answer complete ones with `answer(request)` and write what
    /// the clients take.
    pub fn handle(
        &mut self,
        registry: &Registry,
        token: Token,
        now: Instant,
        answer: &mut dyn FnMut(&str) -> String,
    ) {
        if token == self.listener_token {
            self.accept_all(registry, now, answer);
        } else if self.conn_tokens.contains(&token.0) {
            self.progress(registry, token.0 - self.conn_tokens.start, answer);
        }
    }

    /// The earliest instant a connection times out.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.conns.iter().flatten().map(|c| c.deadline).min()
    }

    /// Close the connections whose time is up.
    pub fn expire(&mut self, registry: &Registry, now: Instant) {
        for slot in 0..self.conns.len() {
            if self.conns[slot].as_ref().is_some_and(|c| c.deadline <= now) {
                log::debug!("control socket: client too slow, closing");
                self.close(registry, slot);
            }
        }
    }

    fn accept_all(&mut self, registry: &Registry, now: Instant, answer: &mut dyn FnMut(&str) -> String) {
        loop {
            let mut stream = match self.listener.accept() {
                Ok((s, _)) => s,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    if e.kind() != io::ErrorKind::WouldBlock {
                        log::debug!("control socket: {e}");
                    }
                    return;
                }
            };
            // Every slot busy: the new client is closed at once and sees an empty reply.
            let Some(slot) = self.conns.iter().position(Option::is_none) else { continue };
            let token = Token(self.conn_tokens.start + slot);
            if let Err(e) = registry.register(&mut stream, token, Interest::READABLE | Interest::WRITABLE) {
                log::debug!("control socket: {e}");
                continue;
            }
            let deadline = now + CONN_TIMEOUT;
            self.conns[slot] = Some(Conn { stream, request: Vec::new(), reply: None, sent: 0, deadline });
            // The request is often there already.
            self.progress(registry, slot, answer);
        }
    }

    fn progress(&mut self, registry: &Registry, slot: usize, answer: &mut dyn FnMut(&str) -> String) {
        let Some(conn) = self.conns.get_mut(slot).and_then(Option::as_mut) else { return };
        if conn.reply.is_none() {
            match read_request(conn) {
                Ok(Some(line)) => {
                    let mut reply = answer(&line);
                    reply.push('\n');
                    conn.reply = Some(reply.into_bytes());
                }
                Ok(None) => return,
                Err(e) => {
                    log::debug!("control socket: {e}");
                    return self.close(registry, slot);
                }
            }
        }
        let reply = conn.reply.as_deref().unwrap_or_default();
        while conn.sent < reply.len() {
            match conn.stream.write(&reply[conn.sent..]) {
                Ok(n) => conn.sent += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) => {
                    log::debug!("control socket: {e}");
                    break;
                }
            }
        }
        self.close(registry, slot);
    }

    fn close(&mut self, registry: &Registry, slot: usize) {
        if let Some(mut conn) = self.conns.get_mut(slot).and_then(Option::take) {
            let _ = registry.deregister(&mut conn.stream);
        }
    }

    pub fn remove(self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Read what has arrived; the request once its line (or the client's end
/// of writing) is there.
fn read_request(conn: &mut Conn) -> io::Result<Option<String>> {
    let mut buf = [0u8; MAX_REQUEST];
    loop {
        let complete = match conn.stream.read(&mut buf) {
            Ok(0) => true,
            Ok(n) => {
                conn.request.extend_from_slice(&buf[..n]);
                conn.request.contains(&b'\n') || conn.request.len() >= MAX_REQUEST
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => false,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(None),
            Err(e) => return Err(e),
        };
        if complete {
            let end = conn.request.iter().position(|&b| b == b'\n').unwrap_or(conn.request.len());
            let line = String::from_utf8_lossy(&conn.request[..end.min(MAX_REQUEST)]);
            return Ok(Some(line.trim().to_string()));
        }
    }
}

/// Send one request line and read the whole reply.
pub fn query(path: &Path, request: &str) -> io::Result<String> {
    let mut s = UnixStream::connect(path)?;
    s.set_read_timeout(Some(CLIENT_TIMEOUT))?;
    s.set_write_timeout(Some(CLIENT_TIMEOUT))?;
    s.write_all(format!("{request}\n").as_bytes())?;
    let mut reply = String::new();
    s.take(MAX_REPLY).read_to_string(&mut reply)?;
    Ok(reply)
}

/// `vigil status [--json]`.
pub fn status_main(args: &[String]) -> i32 {
    let mut json = false;
    for a in args {
        match a.as_str() {
            "--json" | "-j" => json = true,
            _ => {
                eprintln!("vigil status: unknown argument '{a}'\nUsage: vigil status [--json]");
                return 2;
            }
        }
    }
    let paths = RunPaths::from_env();
    let mut found = Vec::new();
    for kind in [ChildKind::Vrrp, ChildKind::Checker] {
        let path = paths.control_socket(kind);
        if !path.exists() {
            continue;
        }
        match query(&path, "status").map_err(|e| e.to_string()).and_then(|r| Json::parse(r.trim())) {
            Ok(v) => found.push((kind.name().to_string(), v)),
            Err(e) => {
                eprintln!("vigil status: {}: {e}", path.display());
                return 1;
            }
        }
    }
    if found.is_empty() {
        eprintln!("vigil status: no running vigil found in {}", paths.run_dir.display());
        return 1;
    }
    if json {
        println!("{}", Json::Obj(found));
    } else {
        for (name, v) in &found {
            print!("{}", render(name, v));
        }
    }
    0
}

/// A human view of any status object: scalars as `key: value` lines, and
/// each array of objects as a table whose columns are the union of the keys.
pub fn render(name: &str, v: &Json) -> String {
    let mut out = format!("[{name}]\n");
    let Json::Obj(pairs) = v else {
        out.push_str(&format!("  {}\n", cell(v)));
        return out;
    };
    for (k, val) in pairs.iter().filter(|(_, v)| !is_table(v)) {
        out.push_str(&format!("  {k}: {}\n", cell(val)));
    }
    for (k, val) in pairs.iter().filter(|(_, v)| is_table(v)) {
        out.push_str(&format!("  {k}:\n"));
        if let Json::Arr(rows) = val {
            out.push_str(&table(rows));
        }
    }
    out
}

fn is_table(v: &Json) -> bool {
    matches!(v, Json::Arr(rows) if !rows.is_empty() && rows.iter().all(|r| matches!(r, Json::Obj(_))))
}

fn cell(v: &Json) -> String {
    match v {
        Json::Str(s) => s.clone(),
        other => other.to_string(),
    }
}

fn table(rows: &[Json]) -> String {
    let mut cols: Vec<&str> = Vec::new();
    for r in rows {
        if let Json::Obj(pairs) = r {
            for (k, _) in pairs {
                if !cols.contains(&k.as_str()) {
                    cols.push(k);
                }
            }
        }
    }
    let cells: Vec<Vec<String>> =
        rows.iter().map(|r| cols.iter().map(|c| r.get(c).map(cell).unwrap_or_default()).collect()).collect();
    let width: Vec<usize> = cols
        .iter()
        .enumerate()
        .map(|(i, c)| cells.iter().map(|r| r[i].chars().count()).chain([c.len()]).max().unwrap_or(0))
        .collect();
    let line = |items: Vec<&str>| -> String {
        let padded: Vec<String> = items.iter().zip(&width).map(|(s, w)| format!("{s:<w$}")).collect();
        format!("    {}\n", padded.join("  ").trim_end())
    };
    let mut out =
        line(cols.iter().map(|c| c.to_uppercase()).collect::<Vec<_>>().iter().map(String::as_str).collect());
    for r in &cells {
        out.push_str(&line(r.iter().map(String::as_str).collect()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_scalars_and_tables() {
        let v = Json::parse(
            r#"{"pid":42,"engine":"vrrp","instances":[{"name":"VI_1","state":"MASTER"},{"name":"VI_22","state":"BACKUP","prio":90}]}"#,
        )
        .unwrap();
        assert_eq!(
            render("vrrp", &v),
            "[vrrp]\n  pid: 42\n  engine: vrrp\n  instances:\n    \
             NAME   STATE   PRIO\n    VI_1   MASTER\n    VI_22  BACKUP  90\n"
        );
    }

    /// Serve on a poll of our own until `done`, checking that no call blocks.
    fn serve_until(
        server: &mut ControlServer,
        poll: &mut mio::Poll,
        mut done: impl FnMut(&ControlServer) -> bool,
    ) {
        let registry = poll.registry().try_clone().unwrap();
        let mut events = mio::Events::with_capacity(8);
        let until = Instant::now() + Duration::from_secs(5);
        while !done(server) {
            assert!(Instant::now() < until, "not served in time");
            poll.poll(&mut events, Some(Duration::from_millis(10))).unwrap();
            let now = Instant::now();
            for ev in events.iter() {
                assert!(server.owns(ev.token()));
                let t = Instant::now();
                server.handle(&registry, ev.token(), now, &mut |req| format!("{{\"request\":\"{req}\"}}"));
                assert!(t.elapsed() < Duration::from_millis(20), "handle blocked for {:?}", t.elapsed());
            }
            server.expire(&registry, now);
        }
    }

    #[test]
    fn serves_requests_without_waiting_for_slow_clients() {
        let path = std::env::temp_dir().join(format!("vigil-ctl-test-{}.ctl", std::process::id()));
        let mut server = ControlServer::bind(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions();
        assert_eq!(std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777, 0o600);
        let mut poll = mio::Poll::new().unwrap();
        server.register(poll.registry(), Token(2), 4..6).unwrap();

        // A client that connects and sends its request 200 ms later, and a
        // prompt one meanwhile: the prompt one is answered first.
        let p2 = path.clone();
        let slow = std::thread::spawn(move || {
            let mut s = UnixStream::connect(&p2).unwrap();
            std::thread::sleep(Duration::from_millis(200));
            s.write_all(b"status\n").unwrap();
            let mut reply = String::new();
            s.read_to_string(&mut reply).unwrap();
            (reply, Instant::now())
        });
        std::thread::sleep(Duration::from_millis(20));
        let p3 = path.clone();
        let prompt = std::thread::spawn(move || (query(&p3, "status").unwrap(), Instant::now()));
        serve_until(&mut server, &mut poll, |_| slow.is_finished() && prompt.is_finished());
        let (slow_reply, slow_at) = slow.join().unwrap();
        let (prompt_reply, prompt_at) = prompt.join().unwrap();
        assert_eq!(prompt_reply, "{\"request\":\"status\"}\n");
        assert_eq!(slow_reply, "{\"request\":\"status\"}\n");
        assert!(prompt_at < slow_at, "the prompt client waited for the slow one");
        assert_eq!(server.next_deadline(), None, "connections closed");

        // A client that never sends is closed once its time is up.
        let mut silent = UnixStream::connect(&path).unwrap();
        silent.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        serve_until(&mut server, &mut poll, |s| s.next_deadline().is_some());
        let registry = poll.registry().try_clone().unwrap();
        server.expire(&registry, Instant::now() + CONN_TIMEOUT + Duration::from_millis(1));
        assert_eq!(server.next_deadline(), None);
        let mut rest = Vec::new();
        assert_eq!(silent.read_to_end(&mut rest).unwrap(), 0, "closed without a reply");
        server.remove();
        assert!(!path.exists());
    }
}
