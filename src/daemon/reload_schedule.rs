//! `reload_time_file`: when the parent reloads next, from the file's text and the clock.
//!
//! Pure: the caller reads the file, the clock and the local UTC offset; this module only decides.
//! Accepted forms (keepalived 2.2's): `hh:mm:ss` (next such time, today or tomorrow),
//! `yy-mm-dd hh:mm:ss` and `YYYY-mm-dd hh:mm:ss` (that instant, refused when past); a trailing `Z`
//! reads the time as UTC instead of local time.

/// A reload the file asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReloadAt {
    /// Seconds since the Unix epoch.
    pub unix: i64,
    /// A date was given: the file is one-shot even with `reload_repeat`.
    pub date_given: bool,
}

/// Next reload for `text` (the file's first line is used) at `now_unix`, local time being
/// `utc_offset_secs` ahead of UTC. Err is the reason to log, in keepalived's words.
pub fn next_reload(text: &str, now_unix: i64, utc_offset_secs: i64) -> Result<ReloadAt, String> {
    let line = text.lines().next().unwrap_or("").trim_end_matches('\r');
    let (body, offset) = match line.strip_suffix('Z') {
        Some(b) => (b, 0),
        None => (line, utc_offset_secs),
    };
    let num = |s: &str| -> Option<i64> {
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse().ok())?
    };
    let bad = || format!("Reload date/time {line} invalid - ignoring");
    let (date, time) = match body.len() {
        8 => (None, body),
        17 | 19 => {
            let (d, t) = body.split_once(' ').ok_or_else(bad)?;
            (Some(d), t)
        }
        _ => return Err(format!("Reload time {line} format is incorrect - ignoring")),
    };
    let hms: Vec<&str> = time.split(':').collect();
    if hms.len() != 3 || hms.iter().any(|p| p.len() != 2) {
        return Err(bad());
    }
    let (h, m, s) =
        (num(hms[0]).ok_or_else(bad)?, num(hms[1]).ok_or_else(bad)?, num(hms[2]).ok_or_else(bad)?);
    if h > 23 || m > 59 || s > 59 {
        return Err(bad());
    }
    let secs_of_day = h * 3600 + m * 60 + s;
    let local_now = now_unix + offset;
    match date {
        None => {
            let today = local_now.div_euclid(86_400);
            let mut unix = today * 86_400 + secs_of_day - offset;
            if unix <= now_unix {
                unix += 86_400;
            }
            Ok(ReloadAt { unix, date_given: false })
        }
        Some(d) => {
            let ymd: Vec<&str> = d.split('-').collect();
            if ymd.len() != 3 || ymd[1].len() != 2 || ymd[2].len() != 2 {
                return Err(bad());
            }
            let mut y = num(ymd[0]).ok_or_else(bad)?;
            if ymd[0].len() == 2 {
                // strptime's %y: 69..99 are 19xx, 00..68 are 20xx.
                y += if y >= 69 { 1900 } else { 2000 };
            } else if ymd[0].len() != 4 {
                return Err(bad());
            }
            let (mo, day) = (num(ymd[1]).ok_or_else(bad)?, num(ymd[2]).ok_or_else(bad)?);
            if !(1..=12).contains(&mo) || day < 1 || day > days_in_month(y, mo) {
                return Err(bad());
            }
            let unix = days_from_civil(y, mo, day) * 86_400 + secs_of_day - offset;
            if unix <= now_unix {
                return Err(format!("Reload time {line} is in the past - ignoring"));
            }
            Ok(ReloadAt { unix, date_given: true })
        }
    }
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    // 2026-12-06 12:00:00 UTC
    const NOW: i64 = 1_796_558_400;

    #[test]
    fn time_only_later_today_and_past_tomorrow() {
        let r = next_reload("12:00:02\n", NOW, 0).unwrap();
        assert_eq!(r, ReloadAt { unix: NOW + 2, date_given: false });
        let r = next_reload("11:59:59", NOW, 0).unwrap();
        assert_eq!(r.unix, NOW - 1 + 86_400);
        // Local time one hour ahead of UTC: 13:00:05 local is 12:00:05 UTC.
        assert_eq!(next_reload("13:00:05", NOW, 3600).unwrap().unix, NOW + 5);
        // Trailing Z ignores the local offset.
        assert_eq!(next_reload("12:00:05Z", NOW, 3600).unwrap().unix, NOW + 5);
    }

    #[test]
    fn dated_forms_and_refusals() {
        let r = next_reload("2026-12-07 12:00:00", NOW, 0).unwrap();
        assert_eq!(r, ReloadAt { unix: NOW + 86_400, date_given: true });
        assert_eq!(next_reload("26-12-07 12:00:00", NOW, 0).unwrap().unix, NOW + 86_400);
        assert!(next_reload("2026-12-06 11:00:00", NOW, 0).unwrap_err().contains("past"));
        assert!(next_reload("2027-02-29 00:00:00", NOW, 0).is_err());
        assert!(next_reload("24:00:00", NOW, 0).is_err());
        assert!(next_reload("", NOW, 0).unwrap_err().contains("format"));
        assert!(next_reload("ab:cd:ef", NOW, 0).is_err());
    }
}
