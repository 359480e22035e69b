//! The control socket: each child listens on `<run dir>/<name>.ctl`
//! (mode 0600, so root only) and answers one request per connection.
//! Requests are one line; the only one today is `status`, answered with the
//! child's status object as one line of JSON. `vigil status` asks every
//! child it finds and prints a table, or the raw JSON with `--json`.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::json::Json;
use super::{ChildKind, RunPaths};

/// A client gets this long to send its request; the loop is blocked meanwhile.
const REQUEST_TIMEOUT: Duration = Duration::from_millis(100);
const CLIENT_TIMEOUT: Duration = Duration::from_secs(2);
const MAX_REQUEST: u64 = 256;
const MAX_REPLY: u64 = 16 << 20;

pub struct ControlServer {
    listener: mio::net::UnixListener,
    path: PathBuf,
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
        Ok(ControlServer { listener, path: path.to_path_buf() })
    }

    pub fn source(&mut self) -> &mut mio::net::UnixListener {
        &mut self.listener
    }

    /// Accept every pending connection and answer it with `answer(request)`.
    pub fn serve(&self, mut answer: impl FnMut(&str) -> String) {
        loop {
            let stream = match self.listener.accept() {
                Ok((s, _)) => s,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => return,
            };
            // Convert to a blocking std stream with short timeouts: requests are tiny.
            let fd = std::os::unix::io::IntoRawFd::into_raw_fd(stream);
            // SAFETY: fd was just released by the mio stream.
            let stream = unsafe { <UnixStream as std::os::unix::io::FromRawFd>::from_raw_fd(fd) };
            if let Err(e) = answer_one(stream, &mut answer) {
                log::debug!("control socket: {e}");
            }
        }
    }

    pub fn remove(self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

fn answer_one(stream: UnixStream, answer: &mut impl FnMut(&str) -> String) -> io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(REQUEST_TIMEOUT))?;
    stream.set_write_timeout(Some(REQUEST_TIMEOUT))?;
    let mut line = String::new();
    BufReader::new((&stream).take(MAX_REQUEST)).read_line(&mut line)?;
    let mut reply = answer(line.trim());
    reply.push('\n');
    (&stream).write_all(reply.as_bytes())
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

const STATUS_USAGE: &str = "Usage: vigil status [-s NAME | --namespace NAME] [--json]";

/// `vigil status [--namespace NAME] [--json]`: NAME finds the daemon started
/// with `-s NAME`.
pub fn status_main(args: &[String]) -> i32 {
    let mut json = false;
    let mut namespace = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let ns = match a.as_str() {
            "--json" | "-j" => {
                json = true;
                continue;
            }
            "--namespace" | "-s" => it.next().cloned(),
            _ => a.strip_prefix("--namespace=").or_else(|| a.strip_prefix("-s")).map(String::from),
        };
        match ns.filter(|n| !n.is_empty() && !n.contains('/')) {
            Some(n) => namespace = Some(n),
            None => {
                eprintln!("vigil status: bad argument '{a}'\n{STATUS_USAGE}");
                return 2;
            }
        }
    }
    let paths = RunPaths::from_env(namespace.as_deref());
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

    #[test]
    fn serves_a_status_request() {
        let path = std::env::temp_dir().join(format!("vigil-ctl-test-{}.ctl", std::process::id()));
        let server = ControlServer::bind(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions();
        assert_eq!(std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777, 0o600);
        let p2 = path.clone();
        let client = std::thread::spawn(move || query(&p2, "status").unwrap());
        // The listener is non-blocking: poll until the client has connected.
        let mut served = false;
        for _ in 0..200 {
            server.serve(|req| {
                served = true;
                format!("{{\"request\":\"{req}\"}}")
            });
            if served {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(client.join().unwrap(), "{\"request\":\"status\"}\n");
        server.remove();
        assert!(!path.exists());
    }
}
