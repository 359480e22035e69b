//! Did-you-mean: the closest known word to a misspelt one.

/// Edit distance counting insertions, deletions, substitutions and swaps of
/// two adjacent characters as one edit each (optimal string alignment).
pub fn distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    distance_within(&a, &b, usize::MAX, &mut Vec::new())
}

/// [`distance`], or something above `limit` as soon as it must exceed it:
/// a cell comes from the row above (or, for a swap, two above), so once two
/// rows in a row are all above `limit` every later one is too. Only three
/// rows are kept, in `rows` (reused by the caller across candidates: a
/// did-you-mean compares one word with a whole block's keywords).
fn distance_within(a: &[char], b: &[char], limit: usize, rows: &mut Vec<usize>) -> usize {
    let w = b.len() + 1;
    rows.clear();
    rows.resize(3 * w, 0);
    let (two_above, rest) = rows.split_at_mut(w);
    let (mut above, mut row) = rest.split_at_mut(w);
    let mut two_above = two_above;
    for (j, cell) in above.iter_mut().enumerate() {
        *cell = j;
    }
    let mut above_limit_rows = 0;
    for i in 1..=a.len() {
        row[0] = i;
        let mut row_min = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (above[j] + 1).min(row[j - 1] + 1).min(above[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(two_above[j - 2] + 1);
            }
            row[j] = v;
            row_min = row_min.min(v);
        }
        above_limit_rows = if row_min > limit { above_limit_rows + 1 } else { 0 };
        if above_limit_rows == 2 {
            return limit.saturating_add(1);
        }
        // Rotate: this row becomes the one above, the one above two above.
        let oldest = two_above;
        two_above = above;
        above = row;
        row = oldest;
    }
    above[b.len()]
}

/// The candidate closest to `word`, if it is close enough to be a typo:
/// at most a third of the word's length in edits (and at least one), or the
/// same word in another case, or a keyword that extends it at `_`
/// boundaries (`garp_master_delay` -> `vrrp_garp_master_delay`).
pub fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let word_chars: Vec<char> = word.chars().collect();
    let chars = word_chars.len();
    let limit = (chars / 3).clamp(1, 3);
    let mut best: Option<(usize, &'a str)> = None;
    let mut extension: Option<&'a str> = None;
    let (mut candidate_chars, mut rows) = (Vec::new(), Vec::new());
    for c in candidates {
        if c == word {
            continue;
        }
        if c.eq_ignore_ascii_case(word) {
            return Some(c);
        }
        // The distance is at least the difference in length: most
        // candidates are out of reach without computing it.
        let c_chars = if c.is_ascii() { c.len() } else { c.chars().count() };
        if c_chars.abs_diff(chars) <= limit {
            candidate_chars.clear();
            candidate_chars.extend(c.chars());
            let d = distance_within(&word_chars, &candidate_chars, limit, &mut rows);
            if d <= limit && best.is_none_or(|(bd, _)| d < bd) {
                best = Some((d, c));
            }
        }
        if word.len() >= 4 && extension.is_none_or(|e| c.len() < e.len()) && extends(c, word) {
            extension = Some(c);
        }
    }
    best.map(|(_, c)| c).or(extension)
}

/// True when `long` is `short` with `_`-joined parts added before or after.
fn extends(long: &str, short: &str) -> bool {
    long.strip_suffix(short).is_some_and(|p| p.ends_with('_'))
        || long.strip_prefix(short).is_some_and(|s| s.starts_with('_'))
}

/// A hint for a name that refers to something defined elsewhere (a script,
/// an instance): the closest defined name, else the list of defined names.
pub fn name_hint(word: &str, what: &str, defined: &[&str]) -> Option<String> {
    if defined.is_empty() {
        return None;
    }
    if let Some(c) = did_you_mean(word, defined.iter().copied()) {
        return Some(format!("did you mean '{c}'?"));
    }
    let mut list: Vec<&str> = defined.iter().take(6).copied().collect();
    if defined.len() > 6 {
        list.push("...");
    }
    Some(format!("defined {what} names: {}", list.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(distance("stmp", "smtp"), 1);
        assert_eq!(distance("preemtp_delay", "preempt_delay"), 1);
        assert_eq!(distance("connection_timeout", "connect_timeout"), 3);
        assert_eq!(distance("kitten", "sitting"), 3);
        // Bounded: the same answer up to the limit, something above it after.
        let c = |s: &str| s.chars().collect::<Vec<_>>();
        for (a, b) in [("kitten", "sitting"), ("stmp", "smtp"), ("abcdef", "badcfe"), ("", "abc"), ("xy", "")]
        {
            let full = distance(a, b);
            for limit in 0..6 {
                let bounded = distance_within(&c(a), &c(b), limit, &mut Vec::new());
                if full <= limit {
                    assert_eq!(bounded, full, "{a} {b} {limit}");
                } else {
                    assert!(bounded > limit, "{a} {b} {limit}");
                }
            }
        }
    }

    #[test]
    fn suggestions_from_the_brief() {
        let kw = ["smtp_connect_timeout", "smtp_server", "router_id", "vrrp_garp_master_delay"];
        assert_eq!(did_you_mean("stmp_connect_timeout", kw), Some("smtp_connect_timeout"));
        assert_eq!(did_you_mean("garp_master_delay", kw), Some("vrrp_garp_master_delay"));
        assert_eq!(did_you_mean("auth_pass2x", ["x"]), None);
        assert_eq!(did_you_mean("autp_pass", ["auth_type", "auth_pass"]), Some("auth_pass"));
        assert_eq!(
            did_you_mean("connection_timeout", ["connect_port", "connect_timeout"]),
            Some("connect_timeout")
        );
        assert_eq!(did_you_mean("Priority", ["priority"]), Some("priority"));
        assert_eq!(did_you_mean("zzzz", ["priority"]), None);
    }

    #[test]
    fn name_hints() {
        assert_eq!(
            name_hint("chk_nginz", "vrrp_script", &["chk_nginx"]).unwrap(),
            "did you mean 'chk_nginx'?"
        );
        let h = name_hint("nginx_check", "vrrp_script", &["httpd_check"]).unwrap();
        assert!(h.contains("httpd_check"), "{h}");
        assert_eq!(name_hint("x", "vrrp_script", &[]), None);
    }
}
