//! The control socket: each child listens on `<run dir>/<name>.ctl`
//! (mode 0600, so root only) and answers one request per connection.
//! Requests are one line; the only one today is `status`, answered with the
//! child's status object as one line of JSON. `vigil status` asks every
//! child it finds and prints a table, or the raw JSON with `--json`.

use std::io::{self, Read, Write};
use std::os::unix::io::AsRawFd;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use mio::{Registry, Token};

use super::clients::{Clients, Request, Rules};
use super::{ChildKind, RunPaths};
use crate::runtime::Json;

/// A client has this long, from connecting, to send its request and take
/// the reply; then it is dropped. The loop never waits on a client.
const CLIENT_DEADLINE: Duration = Duration::from_secs(1);
const CLIENT_TIMEOUT: Duration = Duration::from_secs(2);
const MAX_REQUEST: usize = 256;
const MAX_REPLY: u64 = 16 << 20;
/// Clients served at once; more are turned away (each gets a token of the
/// loop's own range, below `TokenAlloc::FIRST`).
pub const MAX_CLIENTS: usize = 8;

pub struct ControlServer {
    listener: mio::net::UnixListener,
    path: PathBuf,
    clients: Clients<mio::net::UnixStream>,
}

/// One line, at most [`MAX_REQUEST`] bytes.
const RULES: Rules = Rules {
    name: "control socket",
    deadline: CLIENT_DEADLINE,
    max_request: MAX_REQUEST,
    chunk: MAX_REQUEST,
    complete: |request| request.contains(&b'\n'),
};

impl ControlServer {
    /// Bind `path`, replacing a stale socket; only one live owner exists
    /// because the pid-file locks guard the run directory. Client tokens
    /// are `first_token .. first_token + MAX_CLIENTS`.
    pub fn bind(path: &Path, first_token: usize) -> io::Result<ControlServer> {
        match std::fs::remove_file(path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => {
                return Err(io::Error::new(
                    e.kind(),
                    format!("cannot replace stale {}: {e}", path.display()),
                ));
            }
            _ => {}
        }
        let listener = mio::net::UnixListener::bind(path)?;
        // Connecting needs write permission, which the default umask already
        // withholds from others; 0600 also shuts out the group.
        std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
        let clients = Clients::new(RULES, first_token, MAX_CLIENTS);
        Ok(ControlServer { listener, path: path.to_path_buf(), clients })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn source(&mut self) -> &mut mio::net::UnixListener {
        &mut self.listener
    }

    /// Whether `token` is one of this server's clients.
    pub fn owns(&self, token: Token) -> bool {
        self.clients.owns(token)
    }

    /// The earliest client deadline, for the loop's timeout.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.clients.next_deadline()
    }

    /// Take every pending connection from root; others are closed at once.
    pub fn accept(&mut self, registry: &Registry, now: Instant) {
        loop {
            let stream = match self.listener.accept() {
                Ok((s, _)) => s,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => return,
            };
            match peer_uid(&stream) {
                Ok(0) => self.clients.admit(registry, stream, now),
                Ok(uid) => log::debug!("control socket: refused a client with uid {uid}"),
                Err(e) => log::debug!("control socket: no peer credentials: {e}"),
            }
        }
    }

    /// A client's socket is ready: read its request, answer it with
    /// `answer(request)`, and send as much of the reply as the socket takes.
    pub fn ready(&mut self, registry: &Registry, token: Token, answer: impl FnOnce(&str) -> String) {
        self.clients.ready(registry, token, |request| {
            if request.len() > MAX_REQUEST {
                return Request::Refuse(io::Error::new(io::ErrorKind::InvalidData, "request too long"));
            }
            let Some(end) = request.iter().position(|&b| b == b'\n') else { return Request::Partial };
            let line = String::from_utf8_lossy(&request[..end]).trim().to_string();
            let mut reply = answer(&line).into_bytes();
            reply.push(b'\n');
            Request::Answer(reply)
        });
    }

    /// Drop the clients whose time is up.
    pub fn expire(&mut self, registry: &Registry, now: Instant) {
        self.clients.expire(registry, now);
    }

    pub fn remove(self) {
        crate::sys::file::remove_own(&self.path, "control socket");
    }
}

/// The connecting process's uid (SO_PEERCRED).
fn peer_uid(stream: &mio::net::UnixStream) -> io::Result<u32> {
    // SAFETY: zeroed ucred is valid; getsockopt writes at most `len` bytes.
    unsafe {
        let mut cred: libc::ucred = std::mem::zeroed();
        let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
        let rc = libc::getsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&mut cred as *mut libc::ucred).cast(),
            &mut len,
        );
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(cred.uid)
    }
}

/// Send one request line and read the whole reply.
pub fn query(path: &Path, request: &str) -> io::Result<String> {
    query_within(path, request, CLIENT_TIMEOUT)
}

/// [`query`], waiting at most `timeout` for each read or write.
pub fn query_within(path: &Path, request: &str, timeout: Duration) -> io::Result<String> {
    let mut s = UnixStream::connect(path)?;
    s.set_read_timeout(Some(timeout))?;
    s.set_write_timeout(Some(timeout))?;
    s.write_all(format!("{request}\n").as_bytes())?;
    let mut reply = String::new();
    s.take(MAX_REPLY).read_to_string(&mut reply)?;
    Ok(reply)
}

/// The status object of each child of the daemon at `paths` whose control
/// socket exists, or why it did not answer: what `vigil status` prints and
/// what the metrics are made of. Waits at most `timeout` per read or write.
pub fn gather(paths: &RunPaths, timeout: Duration) -> Vec<(ChildKind, Result<Json, String>)> {
    let mut found = Vec::new();
    for kind in [ChildKind::Vrrp, ChildKind::Checker] {
        let path = paths.control_socket(kind);
        if !path.exists() {
            continue;
        }
        let status = query_within(&path, "status", timeout)
            .map_err(|e| e.to_string())
            .and_then(|r| Json::parse(r.trim()))
            .map_err(|e| format!("{}: {e}", path.display()));
        found.push((kind, status));
    }
    found
}

/// How `vigil status` prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusFormat {
    Table,
    Json,
    Prometheus,
}

/// `vigil status`: ask the children of the daemon at `paths` (`cli` finds
/// it from the flags the daemon was started with) and print their answers.
pub fn status(paths: &RunPaths, format: StatusFormat) -> i32 {
    let (json, prometheus) = (format == StatusFormat::Json, format == StatusFormat::Prometheus);
    let gathered = gather(paths, CLIENT_TIMEOUT);
    if gathered.is_empty() {
        eprintln!("vigil status: no running vigil found in {}", paths.run_dir.display());
        return 1;
    }
    if prometheus {
        // A child that does not answer is a metric (vigil_child_up 0), not a failure.
        let children: Vec<_> = gathered.into_iter().map(|(k, s)| (k.name().to_string(), s)).collect();
        print!("{}", super::metrics::render(&children, None));
        return 0;
    }
    let mut found = Vec::new();
    for (kind, status) in gathered {
        match status {
            Ok(v) => found.push((kind.name().to_string(), v)),
            Err(e) => {
                eprintln!("vigil status: {e}");
                return 1;
            }
        }
    }
    if json {
        let daemon = Json::Obj(vec![
            ("identity".into(), Json::Str(paths.identity.clone())),
            ("run_dir".into(), Json::Str(paths.run_dir.display().to_string())),
        ]);
        found.insert(0, ("daemon".into(), daemon));
        println!("{}", Json::Obj(found));
    } else {
        println!("vigil daemon: {} ({})", paths.identity, paths.run_dir.display());
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
    use mio::Interest;

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

    #[test]
    fn serves_a_status_request_without_blocking() {
        let path = std::env::temp_dir().join(format!("vigil-ctl-test-{}.ctl", std::process::id()));
        let mut server = ControlServer::bind(&path, 4).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions();
        assert_eq!(std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777, 0o600);
        let mut poll = mio::Poll::new().unwrap();
        let registry = poll.registry().try_clone().unwrap();
        registry.register(server.source(), Token(2), Interest::READABLE).unwrap();
        // A client that connects and says nothing is dropped at its deadline.
        let silent = UnixStream::connect(&path).unwrap();
        let p2 = path.clone();
        let client = std::thread::spawn(move || query(&p2, "status").unwrap());
        let mut events = mio::Events::with_capacity(8);
        let start = Instant::now();
        let mut answered = false;
        while !answered && start.elapsed() < Duration::from_secs(5) {
            poll.poll(&mut events, Some(Duration::from_millis(50))).unwrap();
            for ev in events.iter() {
                if ev.token() == Token(2) {
                    server.accept(&registry, Instant::now());
                } else if server.owns(ev.token()) {
                    server.ready(&registry, ev.token(), |req| {
                        answered = true;
                        format!("{{\"request\":\"{req}\"}}")
                    });
                }
            }
        }
        assert_eq!(client.join().unwrap(), "{\"request\":\"status\"}\n");
        assert_eq!(server.clients.count(), 1, "the silent client is still waiting");
        server.expire(&registry, Instant::now() + CLIENT_DEADLINE);
        assert!(server.next_deadline().is_none());
        let mut buf = [0u8; 1];
        assert_eq!((&silent).read(&mut buf).unwrap(), 0, "the silent client was closed");
        server.remove();
        assert!(!path.exists());
    }
}
