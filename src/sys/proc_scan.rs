//! What /proc says of running processes, for `vrrp_track_process`: each
//! process's name (`comm`) and, only when a tracker compares command
//! lines, the start of its command line.
//!
//! The name comes from /proc/PID/stat rather than /proc/PID/comm: one read
//! gives both the name and the state, and a zombie (killed, not yet
//! reaped) must not count as running. The command line is read only when
//! asked for, and only as far as the trackers look: reading it touches
//! the process's memory, which may be swapped out (keepalived avoids it
//! for the same reason).

use std::fs::File;
use std::io::Read;

/// One process of a scan.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Process {
    pub pid: u32,
    /// `None` when not asked for, or the process is a zombie.
    pub comm: Option<Vec<u8>>,
    /// The first bytes of /proc/PID/cmdline; `None` when not asked for.
    pub cmdline: Option<Vec<u8>>,
}

impl Process {
    pub fn comm(&self) -> Option<&[u8]> {
        self.comm.as_deref()
    }

    pub fn cmdline(&self) -> Option<&[u8]> {
        self.cmdline.as_deref()
    }
}

/// The name and state letter in a /proc/PID/stat line: `PID (NAME) S ...`.
/// The name may hold spaces and parentheses, so it ends at the last `)`.
pub fn parse_stat(stat: &[u8]) -> Option<(&[u8], u8)> {
    let open = stat.iter().position(|&b| b == b'(')?;
    let close = stat.iter().rposition(|&b| b == b')')?;
    let name = stat.get(open + 1..close)?;
    let state = *stat.get(close + 2)?;
    Some((name, state))
}

/// Every process now. `comm`: read names; `cmdline_len`: read that many
/// bytes of each command line (0: none). A process that exits during the
/// scan is left out.
pub fn scan(comm: bool, cmdline_len: usize, out: &mut Vec<Process>) -> std::io::Result<()> {
    out.clear();
    let mut buf = Vec::with_capacity(512);
    for entry in std::fs::read_dir("/proc")? {
        let Ok(entry) = entry else { continue };
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else { continue };
        if let Some(p) = read(pid, comm, cmdline_len, &mut buf) {
            out.push(p);
        }
    }
    Ok(())
}

/// One process (after an exec event); `None` when it is gone.
pub fn read(pid: u32, comm: bool, cmdline_len: usize, buf: &mut Vec<u8>) -> Option<Process> {
    let mut p = Process { pid, comm: None, cmdline: None };
    if comm {
        read_prefix(&format!("/proc/{pid}/stat"), 512, buf)?;
        let (name, state) = parse_stat(buf)?;
        p.comm = (state != b'Z').then(|| name.to_vec());
    }
    if cmdline_len > 0 {
        read_prefix(&format!("/proc/{pid}/cmdline"), cmdline_len, buf)?;
        p.cmdline = Some(buf.clone());
    }
    Some(p)
}

/// Up to `max` bytes of the file into `buf`.
fn read_prefix(path: &str, max: usize, buf: &mut Vec<u8>) -> Option<()> {
    buf.clear();
    File::open(path).ok()?.take(max as u64).read_to_end(buf).ok()?;
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_names_may_hold_spaces_and_parentheses() {
        assert_eq!(parse_stat(b"42 (sleep) S 1 42 42 0"), Some((&b"sleep"[..], b'S')));
        assert_eq!(parse_stat(b"7 (a) b (c)) Z 1"), Some((&b"a) b (c)"[..], b'Z')));
        assert_eq!(parse_stat(b"7 (x"), None);
        assert_eq!(parse_stat(b"7 (x)"), None, "no state");
    }

    #[test]
    fn a_scan_finds_this_process_and_reads_only_what_is_asked() {
        let me = std::process::id();
        let mut procs = Vec::new();
        // What one scan costs (mean of 20), names only and names plus 64
        // bytes of command line.
        for (comm, cmdline) in [(true, 0), (true, 64)] {
            let t = std::time::Instant::now();
            for _ in 0..20 {
                scan(comm, cmdline, &mut procs).expect("scan /proc");
            }
            let each = t.elapsed() / 20;
            eprintln!("scan(comm {comm}, cmdline {cmdline}): {} processes, {each:?} each", procs.len());
        }
        scan(true, 0, &mut procs).expect("scan /proc");
        let p = procs.iter().find(|p| p.pid == me).expect("this process is listed");
        assert!(p.comm.as_ref().is_some_and(|c| !c.is_empty() && c.len() <= 15));
        assert_eq!(p.cmdline, None);
        scan(false, 4, &mut procs).expect("scan /proc");
        let p = procs.iter().find(|p| p.pid == me).expect("this process is listed");
        assert_eq!((p.comm.as_ref(), p.cmdline.as_ref().map(Vec::len)), (None, Some(4)));
    }
}
