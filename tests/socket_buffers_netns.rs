//! The socket buffer keywords of global_defs against the real binary: the
//! sizes the kernel holds for the daemon's sockets, read back from outside
//! the daemon (pidfd_getfd(2) duplicates each socket of the VRRP child into
//! the test, getsockopt(2) reads SO_RCVBUF; the kernel reports twice what
//! was set, for its bookkeeping).

mod common;

use std::net::IpAddr;
use std::os::fd::{FromRawFd, OwnedFd};

use common::*;

fn config(globals: &str, vip: IpAddr) -> String {
    let inst = |n: u8| {
        format!(
            "vrrp_instance VI_{n} {{\n state BACKUP\n interface eth0\n virtual_router_id {n}\n priority 100\n \
             advert_int 1\n virtual_ipaddress {{\n  {vip}/24\n }}\n}}\n"
        )
    };
    format!("global_defs {{\n{globals}}}\n{}{}", inst(51), inst(52))
}

/// The VRRP child's sockets once both instances run.
fn vrrp_sockets(d: &Daemon) -> Vec<SockInfo> {
    assert!(d.wait_log("(VI_52) Entering BACKUP STATE", secs(6)), "{}", d.log());
    let child = d.pid_from_file("v.pid").expect("VRRP child pid");
    sockets_of(child)
}

const VRRP: i32 = 112;

fn one(socks: &[SockInfo], what: &str, pick: impl Fn(&SockInfo) -> bool) -> i32 {
    let found: Vec<_> = socks.iter().filter(|s| pick(s)).collect();
    assert_eq!(found.len(), 1, "{what}: expected one socket in {socks:?}");
    found[0].rcvbuf
}

fn rtnl_cmd(s: &SockInfo) -> bool {
    s.domain == libc::AF_NETLINK && s.protocol == libc::NETLINK_ROUTE && s.groups == 0
}

fn rtnl_monitor(s: &SockInfo) -> bool {
    s.domain == libc::AF_NETLINK && s.protocol == libc::NETLINK_ROUTE && s.groups != 0
}

fn vrrp_rx(s: &SockInfo) -> bool {
    s.domain == libc::AF_INET && s.protocol == VRRP
}

/// `vrrp_netlink_cmd_rcv_bufs[_force]`, `vrrp_netlink_monitor_rcv_bufs[_force]`
/// and `vrrp_rx_bufs_policy MTU` with `vrrp_rx_bufs_multiplier` (two
/// instances share one receive socket: 2 x 5 x MTU 1500) on one router;
/// `vrrp_rx_bufs_policy ADVERT` (2 x 100 x 40-byte advert: VRRPv2 with one
/// address, 20-byte IPv4 header) and a per-instance size on two others; a
/// router without them keeps the kernel's default for its VRRP socket.
#[test]
fn socket_buffer_keywords_size_the_daemons_sockets() {
    let lan = Lan::new();
    let vip: IpAddr = lan.v4(100).into();
    let rmem_max: i32 =
        std::fs::read_to_string("/proc/sys/net/core/rmem_max").unwrap().trim().parse().unwrap();
    let rmem_default: i32 =
        std::fs::read_to_string("/proc/sys/net/core/rmem_default").unwrap().trim().parse().unwrap();
    // Above rmem_max: only SO_RCVBUFFORCE gets it.
    let forced = rmem_max + 4096;
    let (a, b, c, d) = (lan.add_host("a"), lan.add_host("b"), lan.add_host("c"), lan.add_host("d"));
    let mtu_globals = format!(
        " vrrp_netlink_cmd_rcv_bufs {forced}\n vrrp_netlink_cmd_rcv_bufs_force\n \
         vrrp_netlink_monitor_rcv_bufs 100000\n vrrp_rx_bufs_policy MTU\n vrrp_rx_bufs_multiplier 5\n"
    );
    let da = Daemon::start(&a, &vigil_bin(), &config(&mtu_globals, vip), &["-P"]);
    let advert_globals = format!(
        " vrrp_netlink_monitor_rcv_bufs {forced}\n vrrp_rx_bufs_policy advert\n vrrp_rx_bufs_multiplier 100\n"
    );
    let db = Daemon::start(&b, &vigil_bin(), &config(&advert_globals, vip), &["-P"]);
    let size_globals = format!(
        " vrrp_rx_bufs_policy 6000\n vrrp_netlink_monitor_rcv_bufs {forced}\n \
         vrrp_netlink_monitor_rcv_bufs_force true\n"
    );
    let dc = Daemon::start(&c, &vigil_bin(), &config(&size_globals, vip), &["-P"]);
    let dd = Daemon::start(&d, &vigil_bin(), &config("", vip), &["-P"]);

    let sa = vrrp_sockets(&da);
    assert_eq!(one(&sa, "rtnetlink requests", rtnl_cmd), 2 * forced, "forced past rmem_max");
    assert_eq!(one(&sa, "rtnetlink events", rtnl_monitor), 2 * 100_000);
    assert_eq!(one(&sa, "VRRP receive", vrrp_rx), 2 * (2 * 5 * 1500));

    let sb = vrrp_sockets(&db);
    // Without _force SO_RCVBUF stops at rmem_max.
    assert_eq!(one(&sb, "rtnetlink events", rtnl_monitor), 2 * rmem_max);
    assert_eq!(one(&sb, "VRRP receive", vrrp_rx), 2 * (2 * 100 * 40));

    let sc = vrrp_sockets(&dc);
    assert_eq!(one(&sc, "VRRP receive", vrrp_rx), 2 * (2 * 6000));
    assert_eq!(one(&sc, "rtnetlink events", rtnl_monitor), 2 * forced, "forced past rmem_max");

    let sd = vrrp_sockets(&dd);
    assert_eq!(one(&sd, "VRRP receive", vrrp_rx), rmem_default);
    // vigil's own 1 MiB for its event socket, forced.
    assert_eq!(one(&sd, "rtnetlink events", rtnl_monitor), 2 * (1 << 20));
}

/// `process_monitor_rcv_bufs[_force]`: the process connector only answers
/// in the initial network namespace (a daemon in a test namespace falls
/// back to scanning /proc, tests/vrrp_track.rs), so the connector the VRRP
/// child opens with the configured size (src/failover/processes.rs) is
/// opened here, in the test's own namespace, and read back from the kernel.
#[test]
fn process_connector_takes_the_configured_buffer() {
    use vigil::sys::proc_connector::Connector;
    let dup = |c: &Connector| {
        use std::os::fd::AsRawFd;
        // SAFETY: dup of a descriptor we hold; the copy is owned here.
        unsafe { OwnedFd::from_raw_fd(libc::dup(c.as_raw_fd())) }
    };
    let rmem_max: i32 =
        std::fs::read_to_string("/proc/sys/net/core/rmem_max").unwrap().trim().parse().unwrap();
    let forced = Connector::open_configured((rmem_max + 4096) as u32, true).expect("connector");
    assert_eq!(getsockopt_int(&dup(&forced), libc::SO_RCVBUF), 2 * (rmem_max + 4096));
    let capped = Connector::open_configured((rmem_max + 4096) as u32, false).expect("connector");
    assert_eq!(getsockopt_int(&dup(&capped), libc::SO_RCVBUF), 2 * rmem_max);
    let plain = Connector::open_configured(50_000, false).expect("connector");
    assert_eq!(getsockopt_int(&dup(&plain), libc::SO_RCVBUF), 100_000);
    // Unset: vigil's own 1 MiB.
    let default = Connector::open_configured(0, false).expect("connector");
    assert_eq!(getsockopt_int(&dup(&default), libc::SO_RCVBUF), 2 * (1 << 20));
}
