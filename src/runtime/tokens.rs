//! mio token ranges the engines number themselves, where no [`TokenAlloc`]
//! is at hand (a pending instance that starts, a script that is spawned, a
//! probe that connects). Every range starts far above what `TokenAlloc`
//! hands out (it counts up from [`TokenAlloc::FIRST`], one token per
//! registered source), and no two ranges of one process overlap: each is
//! wide enough for a million sources.
//!
//! [`TokenAlloc`]: super::TokenAlloc
//! [`TokenAlloc::FIRST`]: super::TokenAlloc::FIRST

/// Checker: one per connecting or reading probe slot.
pub const PROBES: usize = 1 << 20;
/// Checker: PING_CHECK's IPv4 and IPv6 echo sockets (two tokens).
pub const PING: usize = 1 << 21;
/// Checker: the inotify descriptor watching FILE_CHECK's track files.
pub const FILE_WATCH: usize = PING + 2;
/// Checker: the rtnetlink address event socket of `ha_suspend`.
pub const ADDR_MONITOR: usize = FILE_WATCH + 1;
/// VRRP: the pooled advert sockets.
pub const ADVERT_SOCKETS: usize = 1 << 22;
/// Both engines: the SMTP alert mailer (`smtp::Mailer::TOKENS` of them).
pub const MAILER: usize = 1 << 23;
/// Both engines: script pidfds, one per running child.
pub const SCRIPTS: usize = 1 << 24;

const _PING_BELOW_SOCKETS: () = assert!(ADDR_MONITOR < ADVERT_SOCKETS);
