//! Packet capture with tcpdump, decoded with tshark.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use super::{Netns, ProcGuard, TempDir};

/// tcpdump writing `DIR/capture.pcap` from one interface of a namespace. The pcap is decoded
/// after [`Capture::stop`] (the decoding methods stop it first). Removed on drop.
pub struct Capture {
    proc: Option<ProcGuard>,
    pcap: PathBuf,
    dir: TempDir,
}

impl Capture {
    /// Capture on `iface` in `ns` with a tcpdump filter, e.g. `"vrrp or arp"`. Returns once
    /// tcpdump is listening.
    pub fn start(ns: &Netns, iface: &str, filter: &str) -> Capture {
        let dir = TempDir::new("pcap");
        let pcap = dir.path().join("capture.pcap");
        let errors = dir.path().join("tcpdump.err");
        let err = File::create(&errors).unwrap_or_else(|e| panic!("{}: {e}", errors.display()));
        let pcap_s = pcap.to_string_lossy();
        // -Z root: tcpdump must not drop privileges, or it cannot write into our root-only dir.
        let args =
            ["tcpdump", "-Z", "root", "--immediate-mode", "-U", "-n", "-i", iface, "-w", &pcap_s, filter];
        let mut cmd = ns.command(&args);
        cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::from(err));
        let proc = ProcGuard::spawn(&mut cmd);
        let read_err = || std::fs::read_to_string(&errors).unwrap_or_default();
        let ready = super::wait_until(Duration::from_secs(5), Duration::from_millis(10), || {
            read_err().contains("listening on") || proc.has_exited()
        });
        assert!(ready && proc.is_running(), "tcpdump in {} did not start: {}", ns.name(), read_err());
        Capture { proc: Some(proc), pcap, dir }
    }

    pub fn path(&self) -> &Path {
        &self.pcap
    }

    /// Stop tcpdump (SIGINT, so it flushes the file). Idempotent.
    pub fn stop(&mut self) {
        if let Some(mut proc) = self.proc.take() {
            // Frames still in flight on the segment get a moment to arrive.
            std::thread::sleep(Duration::from_millis(50));
            proc.signal(libc::SIGINT);
            proc.wait_exit(Duration::from_secs(3));
            proc.terminate();
        }
    }

    /// Run `tshark -r PCAP args...` and return its stdout.
    pub fn tshark(&mut self, args: &[&str]) -> String {
        self.stop();
        let out = Command::new("tshark")
            .arg("-r")
            .arg(&self.pcap)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("spawn tshark: {e}"));
        assert!(out.status.success(), "tshark {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// One row per frame matching the display filter (`""` for all), one column per field,
    /// e.g. `fields("vrrp", &["ip.src", "vrrp.prio"])`. Empty fields are empty strings.
    pub fn fields(&mut self, display_filter: &str, fields: &[&str]) -> Vec<Vec<String>> {
        let mut args = vec!["-T", "fields", "-E", "separator=\t", "-E", "occurrence=a"];
        if !display_filter.is_empty() {
            args.extend(["-Y", display_filter]);
        }
        for f in fields {
            args.extend(["-e", f]);
        }
        let out = self.tshark(&args);
        out.lines().map(|l| l.split('\t').map(String::from).collect()).collect()
    }

    /// tshark's expert-info errors and warnings for the whole capture, with IPv4 header
    /// checksums checked too: malformed packets, bad checksums, ... One line each, e.g.
    /// "Warns: 1 Checksum VRRP Bad checksum [should be 0x7707]". Empty when all is well.
    pub fn expert_problems(&mut self) -> Vec<String> {
        let out = self.tshark(&["-o", "ip.check_checksum:TRUE", "-q", "-z", "expert,warn"]);
        parse_expert(&out)
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        self.stop();
    }
}

/// `-z expert` prints sections "Errors (n)" / "Warns (n)" / ..., a "====" rule, a
/// "Frequency Group Protocol Summary" header, then one row per finding.
fn parse_expert(out: &str) -> Vec<String> {
    let mut section = "";
    let mut problems = Vec::new();
    for line in out.lines().map(str::trim) {
        if let Some((name, _)) = line.split_once(" (") {
            if matches!(name, "Errors" | "Warns" | "Notes" | "Chats" | "Comments") {
                section = name;
                continue;
            }
        }
        let is_row = line.split_whitespace().next().is_some_and(|w| w.parse::<u64>().is_ok());
        if is_row && matches!(section, "Errors" | "Warns") {
            let row = line.split_whitespace().collect::<Vec<_>>().join(" ");
            problems.push(format!("{section}: {row}"));
        }
    }
    problems
}
