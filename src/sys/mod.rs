//! The I/O edge: raw sockets, rtnetlink, ARP and neighbour discovery.
