//! `ha_suspend` in the real binary: vigil's checker child (`-C`) in one
//! namespace checks real servers in another on the same bridge. A virtual
//! server with `ha_suspend` probes only while its address is on one of the
//! checker's interfaces; a second one without it is the control that shows
//! the checker runs meanwhile. The checker's address event socket is read
//! back from outside (pidfd_getfd) for `lvs_netlink_monitor_rcv_bufs_force`.
//! Needs root and `ip`.
//!
//! keepalived counts address messages, and would go on probing after the
//! IPv6 address that went through duplicate address detection is deleted
//! (README "Differences"); vigil follows the set of addresses.
//!
//! IPv6 throughout: the IPv4 neighbour table is shared by every namespace
//! of the machine, and when other tests fill it past `gc_thresh3` the
//! kernel drops a new IPv4 neighbour's packets ("neighbor table overflow"),
//! which reads as real servers that never answer.

mod common;

use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use common::*;
use vigil::runtime::Json;

/// A TCP listener in a host's namespace that counts the connections it
/// accepts. Stopped and joined on drop.
struct Counter {
    accepted: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Counter {
    fn start(host: &Host, addr: SocketAddr) -> Counter {
        let listener = host.enter(|| TcpListener::bind(addr)).unwrap_or_else(|e| panic!("bind {addr}: {e}"));
        listener.set_nonblocking(true).expect("nonblocking");
        let accepted = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (n, s) = (accepted.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok(_) => {
                        n.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(_) => std::thread::sleep(ms(5)),
                }
            }
        });
        Counter { accepted, stop, thread: Some(thread) }
    }

    fn count(&self) -> usize {
        self.accepted.load(Ordering::Relaxed)
    }

    /// Wait until `more` connections past `from` arrived.
    fn wait_past(&self, from: usize, more: usize, timeout: Duration) -> bool {
        wait_until(timeout, ms(20), || self.count() >= from + more)
    }
}

impl Drop for Counter {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn suspended(d: &Daemon) -> Option<Vec<String>> {
    let st = d.status_if_running()?;
    let Some(Json::Arr(list)) = st.get("checker")?.get("ha_suspended") else { return None };
    Some(list.iter().filter_map(Json::as_str).map(str::to_string).collect())
}

const RTMGRP_IPV4_IFADDR: u32 = 0x10;
const RTMGRP_IPV6_IFADDR: u32 = 0x100;

/// Absent at start: "Deactivating", no connection to the real server while
/// the control's arrive; the address added on the checker's host:
/// "Activating" and probes arrive; deleted: "Suspending" and they stop
/// again. The address event socket takes `lvs_netlink_monitor_rcv_bufs`
/// past rmem_max with `_force`.
#[test]
fn ha_suspend_probes_only_while_the_virtual_address_is_local() {
    let lan = Lan::new();
    let (a, srv) = (lan.add_host("a"), lan.add_host("srv"));
    let vip = lan.v6(0x80);
    let suspended_rs = Counter::start(&srv, SocketAddr::new(srv.ip6.into(), 8080));
    let control_rs = Counter::start(&srv, SocketAddr::new(srv.ip6.into(), 8081));
    let rmem_max: i32 =
        std::fs::read_to_string("/proc/sys/net/core/rmem_max").unwrap().trim().parse().unwrap();
    let forced = rmem_max + 4096;
    let vs = |port: u16, extra: &str| {
        format!(
            "virtual_server {vip} {port} {{\n delay_loop 1\n lb_algo rr\n lb_kind NAT\n protocol TCP\n{extra} \
             real_server {rs} {port} {{\n  TCP_CHECK {{\n   connect_timeout 1\n  }}\n }}\n}}\n",
            rs = srv.ip6,
        )
    };
    let conf = format!(
        "global_defs {{\n lvs_netlink_monitor_rcv_bufs {forced}\n lvs_netlink_monitor_rcv_bufs_force\n}}\n{}{}",
        vs(8080, " ha_suspend\n"),
        vs(8081, ""),
    );
    let d = Daemon::start(&a, &vigil_bin(), &conf, &["-C"]);
    let (rs_name, vs_name) = (format!("[{}]:tcp:8080", srv.ip6), format!("[{vip}]:tcp:8080"));
    let line = |verb: &str| format!("{verb} healthchecker for service {rs_name} for VS {vs_name}");

    assert!(d.wait_log(&line("Deactivating"), secs(10)), "{}", d.log());
    // Three control probes (three delay_loops): none for the suspended server.
    assert!(control_rs.wait_past(0, 3, secs(10)), "the checker does not run:\n{}", d.log());
    assert_eq!(suspended_rs.count(), 0, "probed while its address is absent:\n{}", d.log());
    assert_eq!(suspended(&d), Some(vec![vs_name.clone()]));

    // The checker child's address event socket: one, both families' address groups, the size forced.
    let monitors = address_monitors(&d);
    assert_eq!(monitors.len(), 1, "{monitors:?}");
    assert_eq!(monitors[0].groups, RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR);
    assert_eq!(monitors[0].rcvbuf, 2 * forced, "forced past rmem_max");

    // The virtual address arrives (a VRRP master would add it): probes start. With duplicate
    // address detection, so the kernel reports it twice (tentative, then done).
    a.sysctl(&["net.ipv6.conf.eth0.accept_dad=1", "net.ipv6.conf.eth0.dad_transmits=1"]);
    a.ip(&["addr", "add", &format!("{vip}/128"), "dev", "eth0"]);
    assert!(d.wait_log(&line("Activating"), secs(5)), "{}", d.log());
    assert!(suspended_rs.wait_past(0, 2, secs(10)), "no probes after Activating:\n{}", d.log());
    assert_eq!(suspended(&d), Some(Vec::new()));
    let dad_done = wait_until(secs(5), ms(50), || {
        let shown = a.ip(&["-6", "addr", "show", "dev", "eth0"]);
        shown.lines().any(|l| l.contains(&format!("{vip}/128")) && !l.contains("tentative"))
    });
    assert!(dad_done, "{}", a.ip(&["-6", "addr", "show", "dev", "eth0"]));

    // It goes (one RTM_DELADDR after the two RTM_NEWADDR): probes stop. (One still out when it went may land: count from a control probe later.)
    a.ip(&["addr", "del", &format!("{vip}/128"), "dev", "eth0"]);
    assert!(d.wait_log(&line("Suspending"), secs(5)), "{}", d.log());
    assert!(control_rs.wait_past(control_rs.count(), 1, secs(5)));
    let (frozen, control) = (suspended_rs.count(), control_rs.count());
    assert!(control_rs.wait_past(control, 3, secs(10)), "the checker stopped:\n{}", d.log());
    assert_eq!(suspended_rs.count(), frozen, "probed while suspended:\n{}", d.log());
    assert_eq!(suspended(&d), Some(vec![vs_name.clone()]));
    // Each line once for the one checker (keepalived's start line is Deactivating instead of
    // Activating); the control only ever had its start line.
    for verb in ["Deactivating", "Activating", "Suspending"] {
        assert_eq!(d.log_count(&line(verb)), 1, "{verb}:\n{}", d.log());
    }
    let control = |verb: &str| format!("{verb} healthchecker for service [{}]:tcp:8081 for VS", srv.ip6);
    assert_eq!(d.log_count(&control("Activating")), 1, "{}", d.log());
    assert_eq!(d.log_count(&control("Deactivating")) + d.log_count(&control("Suspending")), 0);
}

/// The checker child's rtnetlink address event sockets.
fn address_monitors(d: &Daemon) -> Vec<SockInfo> {
    let child = d.pid_from_file("c.pid").expect("checker child pid");
    sockets_of(child)
        .into_iter()
        .filter(|s| s.domain == libc::AF_NETLINK && s.protocol == libc::NETLINK_ROUTE && s.groups != 0)
        .collect()
}

/// A reload that gives a running virtual server `ha_suspend` while its
/// address is absent suspends it ("Suspending", no more probes) and opens
/// the address event socket; one that takes it away again activates it and
/// closes the socket, which no configuration without `ha_suspend` has.
#[test]
fn reload_adds_and_removes_ha_suspend() {
    let lan = Lan::new();
    let (a, srv) = (lan.add_host("a"), lan.add_host("srv"));
    let vip = lan.v6(0x81);
    let watched_rs = Counter::start(&srv, SocketAddr::new(srv.ip6.into(), 8080));
    let control_rs = Counter::start(&srv, SocketAddr::new(srv.ip6.into(), 8081));
    let conf = |extra: &str| {
        let vs = |port: u16, extra: &str| {
            format!(
                "virtual_server {vip} {port} {{\n delay_loop 1\n lb_algo rr\n lb_kind NAT\n protocol TCP\n\
                 {extra} real_server {rs} {port} {{\n  TCP_CHECK {{\n   connect_timeout 1\n  }}\n }}\n}}\n",
                rs = srv.ip6,
            )
        };
        format!("{}{}", vs(8080, extra), vs(8081, ""))
    };
    let mut d = Daemon::start(&a, &vigil_bin(), &conf(""), &["-C"]);
    let line = |verb: &str| {
        format!("{verb} healthchecker for service [{}]:tcp:8080 for VS [{vip}]:tcp:8080", srv.ip6)
    };
    assert!(watched_rs.wait_past(0, 2, secs(10)), "not probed:\n{}", d.log());
    assert_eq!(address_monitors(&d), Vec::new(), "no ha_suspend, no address events");

    std::fs::write(d.dir().join("keepalived.conf"), conf(" ha_suspend\n")).unwrap();
    d.signal(libc::SIGHUP);
    assert!(d.wait_log(&line("Suspending"), secs(5)), "{}", d.log());
    assert_eq!(address_monitors(&d).len(), 1);
    assert!(control_rs.wait_past(control_rs.count(), 1, secs(5)));
    let (frozen, control) = (watched_rs.count(), control_rs.count());
    assert!(control_rs.wait_past(control, 3, secs(10)), "the checker stopped:\n{}", d.log());
    assert_eq!(watched_rs.count(), frozen, "probed while suspended:\n{}", d.log());

    std::fs::write(d.dir().join("keepalived.conf"), conf("")).unwrap();
    d.signal(libc::SIGHUP);
    // keepalived's start line for a new checker is "Activating" too: count this one after the reload.
    assert!(wait_until(secs(5), ms(50), || d.log_count(&line("Activating")) >= 2), "{}", d.log());
    assert!(watched_rs.wait_past(frozen, 2, secs(10)), "not probed again:\n{}", d.log());
    assert_eq!(address_monitors(&d), Vec::new(), "the socket is closed");
    assert_eq!(suspended(&d), Some(Vec::new()));
    d.stop();
}
