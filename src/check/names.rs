//! keepalived's spelling of services in log lines: `[198.18.1.2]:tcp:80`,
//! `FWM 1`, `[GROUP web]`.

use std::net::IpAddr;

use crate::config::model::{Protocol, VirtualServer, VsAddr};

pub fn proto_word(p: Protocol) -> &'static str {
    match p {
        Protocol::Tcp => "tcp",
        Protocol::Udp => "udp",
        Protocol::Sctp => "sctp",
    }
}

/// `[ip]:proto:port`, the form keepalived logs for real servers.
pub fn service(addr: IpAddr, protocol: Protocol, port: u16) -> String {
    format!("[{addr}]:{}:{port}", proto_word(protocol))
}

/// The name of a virtual server in log lines and status.
pub fn virtual_server(vs: &VirtualServer) -> String {
    match &vs.addr {
        VsAddr::Addr(ip, port) => service(*ip, vs.effective_protocol(), *port),
        VsAddr::Fwmark(mark) => format!("FWM {mark}"),
        VsAddr::Group(name) => format!("[GROUP {name}]"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spelled_like_keepalived() {
        assert_eq!(service("198.18.1.2".parse().unwrap(), Protocol::Tcp, 80), "[198.18.1.2]:tcp:80");
        assert_eq!(service("2001:db8::1".parse().unwrap(), Protocol::Udp, 53), "[2001:db8::1]:udp:53");
    }
}
