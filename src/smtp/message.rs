//! What an alert says (keepalived's subjects and bodies) and how it goes on
//! the wire (envelope, headers, dot-stuffed body). Pure.

/// The mail user agent name keepalived puts in every alert; users filter
/// on it, so it stays keepalived's literal.
pub const X_MAILER: &str = "Keepalived";

/// A VRRP state worth an email.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VrrpState {
    Master,
    Backup,
    Fault,
}

impl VrrpState {
    pub fn as_str(self) -> &'static str {
        match self {
            VrrpState::Master => "MASTER",
            VrrpState::Backup => "BACKUP",
            VrrpState::Fault => "FAULT",
        }
    }
}

/// One alert: the subject without the `[router_id] ` prefix (added by
/// [`Alert::subject`]) and a one-line body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Alert {
    pub topic: String,
    pub body: String,
}

impl Alert {
    /// `VRRP Instance VI_1 - Entering MASTER state`.
    pub fn vrrp_instance(name: &str, state: VrrpState) -> Alert {
        let body = match state {
            VrrpState::Master => "=> VRRP Instance is now owning VRRP VIPs <=",
            VrrpState::Backup => "=> VRRP Instance is nolonger owning VRRP VIPs <=",
            VrrpState::Fault => "=> VRRP Instance is in FAULT state <=",
        };
        Alert {
            topic: format!("VRRP Instance {name} - Entering {} state", state.as_str()),
            body: body.into(),
        }
    }

    /// `VRRP Group G - Entering MASTER state`.
    pub fn vrrp_group(name: &str, state: VrrpState) -> Alert {
        Alert {
            topic: format!("VRRP Group {name} - Entering {} state", state.as_str()),
            body: format!("=> All VRRP group instances are now in {} state <=", state.as_str()),
        }
    }

    /// `Realserver [ip]:tcp:port of virtual server [vip]:tcp:port - UP`.
    /// Services are spelled as `check::names::service` does; the body is
    /// usually [`check_body`].
    pub fn real_server(real: &str, virt: &str, up: bool, body: &str) -> Alert {
        Alert {
            topic: format!("Realserver {real} of virtual server {virt} - {}", up_down(up)),
            body: body.into(),
        }
    }

    /// `Virtualserver [vip]:tcp:port - DOWN`, sent when quorum is lost or
    /// gained; the body is usually [`quorum_body`].
    pub fn virtual_server(virt: &str, up: bool, body: &str) -> Alert {
        Alert { topic: format!("Virtualserver {virt} - {}", up_down(up)), body: body.into() }
    }

    /// `[router_id] topic`.
    pub fn subject(&self, router_id: &str) -> String {
        format!("[{router_id}] {}", self.topic)
    }
}

fn up_down(up: bool) -> &'static str {
    if up {
        "UP"
    } else {
        "DOWN"
    }
}

/// `=> TCP CHECK succeed on service <=` / `=> TCP CHECK failed on service <=`
/// for the checker named `checker` (`TCP`, `HTTP_GET`, `MISC`, ...).
pub fn check_body(checker: &str, up: bool) -> String {
    let verb = if up { "succeed" } else { "failed" };
    format!("=> {checker} CHECK {verb} on service <=")
}

/// The body of a virtual server alert: the alive weight against the quorum
/// and its hysteresis (`quorum ± hysteresis`).
pub fn quorum_body(up: bool, weight: u64, quorum: u64, hysteresis: u64) -> String {
    if up {
        format!("=> Gained quorum {quorum}+{hysteresis}={} <= {weight} <=", quorum.saturating_add(hysteresis))
    } else {
        format!("=> Lost quorum {quorum}-{hysteresis}={} > {weight} <=", quorum.saturating_sub(hysteresis))
    }
}

/// Who sends and who receives, fixed for a mailer's lifetime.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Envelope {
    pub from: String,
    pub to: Vec<String>,
    pub router_id: String,
}

/// A message ready for the wire: the reverse path, forward paths and the
/// DATA payload up to and including the final `CRLF . CRLF`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mail {
    pub from: String,
    pub to: Vec<String>,
    pub subject: String,
    pub data: Vec<u8>,
}

impl Mail {
    /// `date` is an RFC 5322 date (see [`rfc5322_date`]).
    pub fn compose(env: &Envelope, alert: &Alert, date: &str) -> Mail {
        let subject = one_line(&alert.subject(&env.router_id));
        let to: Vec<String> = env.to.iter().map(|a| one_line(a)).collect();
        let mut data = String::new();
        data.push_str(&format!("Date: {}\r\n", one_line(date)));
        data.push_str(&format!("From: {}\r\n", one_line(&env.from)));
        data.push_str(&format!("Subject: {subject}\r\n"));
        data.push_str(&format!("X-Mailer: {X_MAILER}\r\n"));
        data.push_str(&format!("To: {}\r\n", to.join(", ")));
        data.push_str("\r\n");
        for line in alert.body.split('\n') {
            let line = line.strip_suffix('\r').unwrap_or(line);
            if line.starts_with('.') {
                data.push('.');
            }
            data.push_str(line);
            data.push_str("\r\n");
        }
        data.push_str(".\r\n");
        Mail {
            from: mailbox(&env.from),
            to: env.to.iter().map(|a| mailbox(a)).collect(),
            subject,
            data: data.into_bytes(),
        }
    }
}

/// Header values come from the configuration: a CR or LF in them must not
/// start a new header or end the headers.
fn one_line(s: &str) -> String {
    s.chars().map(|c| if c == '\r' || c == '\n' { ' ' } else { c }).collect()
}

/// The bare address for `MAIL FROM:<..>` / `RCPT TO:<..>`: the part inside
/// `<>` when a display name is given, without whitespace or brackets.
pub fn mailbox(addr: &str) -> String {
    let inner = match (addr.find('<'), addr.rfind('>')) {
        (Some(l), Some(r)) if l < r => &addr[l + 1..r],
        _ => addr,
    };
    inner.chars().filter(|c| !c.is_whitespace() && !c.is_control() && *c != '<' && *c != '>').collect()
}

/// `Mon, 02 Jan 2006 15:04:05 +0100` for `unix` seconds at a local time
/// `utc_offset` seconds east of UTC.
pub fn rfc5322_date(unix: i64, utc_offset: i32) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] =
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let local = unix.saturating_add(i64::from(utc_offset));
    let days = local.div_euclid(86_400);
    let secs = local.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let sign = if utc_offset < 0 { '-' } else { '+' };
    let off = utc_offset.unsigned_abs() / 60;
    format!(
        "{}, {d:02} {} {y} {:02}:{:02}:{:02} {sign}{:02}{:02}",
        DAYS[days.rem_euclid(7) as usize],
        MONTHS[(m - 1) as usize],
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
        off / 60,
        off % 60
    )
}

/// Proleptic Gregorian (year, month 1..=12, day) of a day count from
/// 1970-01-01, by counting 400-year eras from 0000-03-01.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> Envelope {
        Envelope {
            from: "vigil@lb1.example".into(),
            to: vec!["ops@example.com".into(), "Pager <pager@example.com>".into()],
            router_id: "LB1".into(),
        }
    }

    #[test]
    fn keepalived_subjects_and_bodies() {
        let a = Alert::vrrp_instance("VI_1", VrrpState::Master);
        assert_eq!(a.subject("LB1"), "[LB1] VRRP Instance VI_1 - Entering MASTER state");
        assert_eq!(a.body, "=> VRRP Instance is now owning VRRP VIPs <=");
        let a = Alert::vrrp_instance("VI_1", VrrpState::Backup);
        assert_eq!(a.subject("LB1"), "[LB1] VRRP Instance VI_1 - Entering BACKUP state");
        assert_eq!(a.body, "=> VRRP Instance is nolonger owning VRRP VIPs <=");
        let a = Alert::vrrp_instance("VI_1", VrrpState::Fault);
        assert_eq!(a.body, "=> VRRP Instance is in FAULT state <=");
        let a = Alert::vrrp_group("G", VrrpState::Fault);
        assert_eq!(a.subject("LB1"), "[LB1] VRRP Group G - Entering FAULT state");
        assert_eq!(a.body, "=> All VRRP group instances are now in FAULT state <=");
        let a = Alert::real_server(
            "[198.18.0.2]:tcp:80",
            "[198.18.0.1]:tcp:80",
            false,
            &check_body("TCP", false),
        );
        assert_eq!(
            a.subject("LB1"),
            "[LB1] Realserver [198.18.0.2]:tcp:80 of virtual server [198.18.0.1]:tcp:80 - DOWN"
        );
        assert_eq!(a.body, "=> TCP CHECK failed on service <=");
        assert_eq!(check_body("TCP", true), "=> TCP CHECK succeed on service <=");
        let a = Alert::virtual_server("[198.18.0.1]:tcp:80", true, &quorum_body(true, 3, 2, 1));
        assert_eq!(a.subject("LB1"), "[LB1] Virtualserver [198.18.0.1]:tcp:80 - UP");
        assert_eq!(a.body, "=> Gained quorum 2+1=3 <= 3 <=");
        assert_eq!(quorum_body(false, 0, 2, 1), "=> Lost quorum 2-1=1 > 0 <=");
    }

    #[test]
    fn wire_format() {
        let alert = Alert { topic: "T".into(), body: "line one\n.dot\r\n..two\nend".into() };
        let mail = Mail::compose(&env(), &alert, "Thu, 01 Jan 1970 00:00:00 +0000");
        assert_eq!(mail.from, "vigil@lb1.example");
        assert_eq!(mail.to, ["ops@example.com", "pager@example.com"]);
        assert_eq!(
            String::from_utf8(mail.data).unwrap(),
            "Date: Thu, 01 Jan 1970 00:00:00 +0000\r\n\
             From: vigil@lb1.example\r\n\
             Subject: [LB1] T\r\n\
             X-Mailer: Keepalived\r\n\
             To: ops@example.com, Pager <pager@example.com>\r\n\
             \r\n\
             line one\r\n..dot\r\n...two\r\nend\r\n.\r\n"
        );
    }

    #[test]
    fn config_text_cannot_inject_headers() {
        let mut e = env();
        e.router_id = "LB1\r\nBcc: evil@example.com".into();
        let mail = Mail::compose(&e, &Alert::vrrp_instance("VI_1", VrrpState::Master), "d");
        let text = String::from_utf8(mail.data).unwrap();
        assert!(!text.contains("\r\nBcc:"));
        assert_eq!(mailbox("a@b\r\nRCPT TO:x"), "a@bRCPTTO:x");
        assert_eq!(mailbox("Ops <ops@x>"), "ops@x");
    }

    #[test]
    fn dates() {
        assert_eq!(rfc5322_date(0, 0), "Thu, 01 Jan 1970 00:00:00 +0000");
        assert_eq!(rfc5322_date(951_782_400, 0), "Tue, 29 Feb 2000 00:00:00 +0000");
        assert_eq!(rfc5322_date(1_700_000_000, 3600), "Tue, 14 Nov 2023 23:13:20 +0100");
        assert_eq!(rfc5322_date(1_700_000_000, -(5 * 3600 + 1800)), "Tue, 14 Nov 2023 16:43:20 -0530");
        assert_eq!(rfc5322_date(-86_400, 0), "Wed, 31 Dec 1969 00:00:00 +0000");
        // Absurd inputs format without panicking.
        let _ = rfc5322_date(i64::MAX, i32::MAX);
        let _ = rfc5322_date(i64::MIN, i32::MIN);
    }
}
