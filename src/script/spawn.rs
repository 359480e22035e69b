//! Starting one script process the way keepalived does: its own process
//! group (so a timeout kills everything it started), the script user's
//! credentials, SIGTERM when the daemon dies, a scrubbed environment, and
//! no inherited descriptors besides stdio.

use std::io;
use std::os::fd::AsFd;
use std::os::unix::process::CommandExt;
use std::process::{Child, Stdio};

use super::command::{shell_quote, Command};
use super::users::ScriptUser;

/// Where a script's stdout and stderr go.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Output {
    #[default]
    Null,
    /// The daemon's own stderr (debug runs).
    Stderr,
}

/// Build the argument vector actually executed: `extra` arguments (the
/// `notify` convention) are appended, shell-quoted when a shell runs it.
pub fn exec_args(cmd: &Command, extra: &[String]) -> Vec<String> {
    if cmd.shell {
        let mut text = cmd.text.clone();
        for arg in extra {
            text.push(' ');
            text.push_str(&shell_quote(arg));
        }
        vec!["sh".into(), "-c".into(), text]
    } else {
        cmd.argv.iter().chain(extra).cloned().collect()
    }
}

/// Fork and exec `cmd` as `user`. Returns once the exec succeeded (std
/// reports exec and pre-exec failures through a CLOEXEC pipe).
pub fn spawn(cmd: &Command, extra: &[String], user: &ScriptUser, output: Output) -> io::Result<Child> {
    let args = exec_args(cmd, extra);
    let mut proc = std::process::Command::new(&cmd.program);
    if let Some((arg0, rest)) = args.split_first() {
        proc.arg0(arg0).args(rest);
    }
    proc.env_remove("IFS");
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("LD_") {
            proc.env_remove(key);
        }
    }
    proc.stdin(Stdio::null());
    match output {
        Output::Null => proc.stdout(Stdio::null()).stderr(Stdio::null()),
        Output::Stderr => {
            let stderr = io::stderr().as_fd().try_clone_to_owned()?;
            proc.stdout(Stdio::from(stderr)).stderr(Stdio::inherit())
        }
    };
    proc.process_group(0);

    // Everything the child needs is computed here: after fork only
    // async-signal-safe calls are allowed, so no allocation.
    // SAFETY: getpid and geteuid have no failure mode.
    let (parent, euid) = unsafe { (libc::getpid(), libc::geteuid()) };
    let switch_user = user.uid != euid;
    let (uid, gid) = (user.uid as libc::uid_t, user.gid as libc::gid_t);
    let groups: Vec<libc::gid_t> = user.groups.iter().map(|&g| g as libc::gid_t).collect();

    // SAFETY: the closure only makes async-signal-safe system calls on
    // memory prepared before the fork.
    unsafe {
        proc.pre_exec(move || child_setup(parent, switch_user, uid, gid, &groups));
    }
    proc.spawn()
}

/// Runs in the forked child before exec.
fn child_setup(
    parent: libc::pid_t,
    switch_user: bool,
    uid: libc::uid_t,
    gid: libc::gid_t,
    groups: &[libc::gid_t],
) -> io::Result<()> {
    // SAFETY: plain system calls on valid pointers; see `spawn`.
    unsafe {
        // The daemon may block signals (signalfd) or ignore some; both would
        // survive exec and make the script deaf to our SIGTERM.
        let mut empty: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut empty);
        libc::sigprocmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut());
        for sig in 1..32 {
            if sig != libc::SIGKILL && sig != libc::SIGSTOP {
                libc::signal(sig, libc::SIG_DFL);
            }
        }
        // -m lifted the daemon's core limit; scripts get the one it started with.
        if let Some(limit) = super::SCRIPT_CORE_LIMIT.get() {
            libc::setrlimit(libc::RLIMIT_CORE, limit);
        }
        if switch_user {
            if libc::setgroups(groups.len() as _, groups.as_ptr()) != 0 {
                return Err(io::Error::last_os_error());
            }
            if libc::setgid(gid) != 0 || libc::setuid(uid) != 0 {
                return Err(io::Error::last_os_error());
            }
        }
        // After setuid: a credential change clears the death signal.
        if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM as libc::c_ulong, 0, 0, 0) != 0 {
            return Err(io::Error::last_os_error());
        }
        if libc::getppid() != parent {
            // The daemon died between fork and prctl.
            libc::_exit(1);
        }
        // Belt and braces for descriptors opened without CLOEXEC elsewhere in
        // the daemon; kernels before 5.11 lack the call and that is fine.
        libc::syscall(libc::SYS_close_range, 3 as libc::c_uint, libc::c_uint::MAX, libc::CLOSE_RANGE_CLOEXEC);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notify_arguments_are_appended() {
        let extra: Vec<String> =
            ["INSTANCE", "VI 1", "MASTER", "100"].iter().map(|s| s.to_string()).collect();
        let direct = Command::parse("/usr/bin/notify --x").expect("parses");
        assert_eq!(
            exec_args(&direct, &extra),
            ["/usr/bin/notify", "--x", "INSTANCE", "VI 1", "MASTER", "100"]
        );
        let shell = Command::parse("/usr/bin/notify >> /var/log/n").expect("parses");
        assert_eq!(
            exec_args(&shell, &extra),
            ["sh", "-c", "/usr/bin/notify >> /var/log/n 'INSTANCE' 'VI 1' 'MASTER' '100'"]
        );
    }
}
