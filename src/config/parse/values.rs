//! Reading argument values: numbers, timers, booleans, addresses, commands.
//! A bad value is reported with the accepted range and yields `None`, so
//! the caller keeps the default.

use std::net::IpAddr;
use std::time::Duration;

use super::super::diag::{Diagnostic, Loc};
use super::super::model::Command;
use super::super::token::Token;
use super::tree::Stmt;
use super::Parser;
use crate::time::Secs;

impl Parser<'_> {
    /// True once `MAX_LISTED` problems are listed; later ones are counted.
    pub(super) fn full(&self) -> bool {
        self.diags.len() >= super::MAX_LISTED
    }

    pub(super) fn error(&mut self, loc: &Loc, msg: String, hint: Option<String>) {
        if self.full() {
            self.unlisted += 1;
            self.unlisted_error = true;
            return;
        }
        let d = Diagnostic::error(Some(loc.clone()), msg);
        self.diags.push(match hint {
            Some(h) => d.with_hint(h),
            None => d,
        });
    }

    pub(super) fn warn(&mut self, loc: &Loc, msg: String, hint: Option<String>) {
        if self.full() {
            self.unlisted += 1;
            return;
        }
        let d = Diagnostic::warning(Some(loc.clone()), msg);
        self.diags.push(match hint {
            Some(h) => d.with_hint(h),
            None => d,
        });
    }

    /// The first argument, or an error naming the keyword.
    pub(super) fn value<'t>(&mut self, s: &Stmt<'t>) -> Option<&'t Token> {
        let v = s.args.first().copied();
        if v.is_none() {
            self.error(s.loc(), format!("'{}' needs a value", s.name()), None);
        }
        v
    }

    pub(super) fn string(&mut self, s: &Stmt) -> Option<String> {
        self.value(s).and_then(|t| t.word()).map(String::from)
    }

    pub(super) fn int(&mut self, s: &Stmt, min: i64, max: i64) -> Option<i64> {
        let t = self.value(s)?;
        self.int_tok(s.name(), t, min, max)
    }

    pub(super) fn int_tok(&mut self, key: &str, t: &Token, min: i64, max: i64) -> Option<i64> {
        let w = t.word().unwrap_or("");
        match w.parse::<i64>() {
            Ok(n) if (min..=max).contains(&n) => Some(n),
            _ => {
                let msg = format!("invalid value '{w}' for '{key}': expected an integer from {min} to {max}");
                self.error(&t.loc, msg, None);
                None
            }
        }
    }

    pub(super) fn u32(&mut self, s: &Stmt, min: u32, max: u32) -> Option<u32> {
        self.int(s, min.into(), max.into()).and_then(|n| u32::try_from(n).ok())
    }

    /// Seconds with an optional fraction, within `min..=max` seconds.
    pub(super) fn timer(&mut self, s: &Stmt, min: f64, max: f64) -> Option<Duration> {
        let t = self.value(s)?;
        self.timer_tok(s.name(), t, min, max)
    }

    pub(super) fn timer_tok(&mut self, key: &str, t: &Token, min: f64, max: f64) -> Option<Duration> {
        let w = t.word().unwrap_or("");
        match parse_timer(w) {
            Some(d) if d.as_secs_f64() >= min && d.as_secs_f64() <= max => Some(d),
            _ => {
                let (min, max) = (Secs(Duration::from_secs_f64(min)), Secs(Duration::from_secs_f64(max)));
                let msg = format!("invalid value '{w}' for '{key}': expected seconds from {min} to {max}");
                self.error(&t.loc, msg, None);
                None
            }
        }
    }

    /// A `<BOOL>` that may be omitted (then true).
    pub(super) fn flag(&mut self, s: &Stmt) -> bool {
        let Some(t) = s.args.first() else { return true };
        match t.word().unwrap_or("") {
            "on" | "true" | "yes" => true,
            "off" | "false" | "no" => false,
            w => {
                let msg =
                    format!("invalid value '{w}' for '{}': expected on|off|true|false|yes|no", s.name());
                self.error(&t.loc, msg, None);
                true
            }
        }
    }

    pub(super) fn ip(&mut self, s: &Stmt) -> Option<IpAddr> {
        let t = self.value(s)?;
        self.ip_tok(s.name(), t)
    }

    pub(super) fn ip_tok(&mut self, key: &str, t: &Token) -> Option<IpAddr> {
        let w = t.word().unwrap_or("");
        let ip = w.parse::<IpAddr>().ok();
        if ip.is_none() {
            self.error(&t.loc, format!("invalid IP address '{w}' for '{key}'"), None);
        }
        ip
    }

    /// `ADDR:PORT` (an IPv6 address in brackets), port 1 to 65535.
    pub(super) fn socket_addr(&mut self, s: &Stmt) -> Option<std::net::SocketAddr> {
        let t = self.value(s)?;
        let w = t.word().unwrap_or("");
        match w.parse::<std::net::SocketAddr>() {
            Ok(a) if a.port() != 0 => Some(a),
            _ => {
                let msg = format!("invalid address '{w}' for '{}': expected ADDR:PORT", s.name());
                let hint = "e.g. 198.18.0.1:9650, 0.0.0.0:9650 or [2001:db8::1]:9650".to_string();
                self.error(&t.loc, msg, Some(hint));
                None
            }
        }
    }

    /// `vrrp_mcast_group4` / `vrrp_mcast_group6`: a multicast address of the
    /// keyword's family, else an error and the default stays (as keepalived:
    /// "... Skipping"); an IPv6 group beyond link scope is only a warning.
    pub(super) fn mcast_group(&mut self, s: &Stmt, v6: bool) -> Option<IpAddr> {
        let ip = self.ip(s)?;
        let (key, loc) = (s.name().to_string(), s.loc().clone());
        let (family, hint) = if v6 { ("IPv6", "e.g. ff02::12") } else { ("IPv4", "e.g. 224.0.0.18") };
        if ip.is_ipv6() != v6 {
            self.error(&loc, format!("'{key}' {ip} is not {family}: ignored"), Some(hint.to_string()));
            return None;
        }
        if !ip.is_multicast() {
            self.error(&loc, format!("'{key}' {ip} is not multicast: ignored"), Some(hint.to_string()));
            return None;
        }
        if let IpAddr::V6(a) = ip {
            if a.segments()[0] & 0xff0f != 0xff02 {
                self.warn(&loc, format!("'{key}' {ip} should be link-local multicast (ff02::/16)"), None);
            }
        }
        Some(ip)
    }

    pub(super) fn port_tok(&mut self, key: &str, t: &Token) -> Option<u16> {
        self.int_tok(key, t, 0, 65535).and_then(|n| u16::try_from(n).ok())
    }

    /// `notify_* CMD [user [group]]`: a quoted command is split into words.
    pub(super) fn command(&mut self, s: &Stmt) -> Option<Command> {
        let t = self.value(s)?;
        let args = split_command(t.word().unwrap_or(""));
        if args.is_empty() {
            self.error(&t.loc, format!("empty command for '{}'", s.name()), None);
            return None;
        }
        if let Some(extra) = s.args.get(3) {
            let msg = format!("too many words after the command of '{}'", s.name());
            let hint = "quote a command that has arguments: \"/path/script arg\"".to_string();
            self.error(&extra.loc, msg, Some(hint));
        }
        Some(Command {
            args,
            user: s.arg(1).map(String::from),
            group: s.arg(2).map(String::from),
            loc: s.loc().clone(),
        })
    }

    /// `script` / `misc_path`: every word on the line is part of the command.
    pub(super) fn script_line(&mut self, s: &Stmt) -> Option<Command> {
        self.value(s)?;
        let args: Vec<String> = s.args.iter().filter_map(|t| t.word()).flat_map(split_command).collect();
        if args.is_empty() {
            self.error(s.loc(), format!("empty command for '{}'", s.name()), None);
            return None;
        }
        Some(Command { args, user: None, group: None, loc: s.loc().clone() })
    }

    /// `user USER [GROUP]`.
    pub(super) fn user_group(&mut self, s: &Stmt) -> Option<(String, Option<String>)> {
        let user = self.string(s)?;
        Some((user, s.arg(1).map(String::from)))
    }
}

/// Seconds with an optional fraction of up to 6 digits: `1`, `0.5`, `2.25`.
pub fn parse_timer(w: &str) -> Option<Duration> {
    let (int, frac) = match w.split_once('.') {
        Some((i, f)) => (i, f),
        None => (w, ""),
    };
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(int) || !all_digits(frac) || frac.len() > 6 || int.len() > 9 {
        return None;
    }
    let secs: u64 = if int.is_empty() { 0 } else { int.parse().ok()? };
    let micros: u32 = if frac.is_empty() { 0 } else { format!("{frac:0<6}").parse().ok()? };
    Some(Duration::from_secs(secs) + Duration::from_micros(micros.into()))
}

/// Splits a command line into words, honouring single and double quotes.
pub fn split_command(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    for c in s.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => cur.push(c),
            None if c == '"' || c == '\'' => {
                quote = Some(c);
                in_word = true;
            }
            None if c.is_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            None => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        out.push(cur);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timers() {
        assert_eq!(parse_timer("1"), Some(Duration::from_secs(1)));
        assert_eq!(parse_timer("0.5"), Some(Duration::from_millis(500)));
        assert_eq!(parse_timer("2.000001"), Some(Duration::from_micros(2_000_001)));
        assert_eq!(parse_timer(".25"), Some(Duration::from_millis(250)));
        assert_eq!(parse_timer("-1"), None);
        assert_eq!(parse_timer("1s"), None);
        assert_eq!(parse_timer("."), None);
        assert_eq!(parse_timer("1.0000001"), None);
    }

    #[test]
    fn commands() {
        assert_eq!(split_command("/bin/check --fast"), vec!["/bin/check", "--fast"]);
        assert_eq!(split_command("/bin/sh -c 'a b'  x"), vec!["/bin/sh", "-c", "a b", "x"]);
        assert_eq!(split_command("  "), Vec::<String>::new());
        assert_eq!(split_command("''"), vec![""]);
    }
}
