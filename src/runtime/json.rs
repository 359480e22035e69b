//! A tiny JSON value with an emitter and a parser: enough for the status
//! objects the children report and `vigil status` prints. No serde.

use std::fmt;

#[derive(Clone, Debug, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Arr(Vec<Json>),
    /// Keys keep their order, so tables print columns as the subsystem wrote them.
    Obj(Vec<(String, Json)>),
}

/// Nesting deeper than this is refused, so hostile input cannot blow the stack.
const MAX_DEPTH: usize = 64;

impl Json {
    /// Build an object from `(key, value)` pairs.
    pub fn obj<K: Into<String>>(pairs: impl IntoIterator<Item = (K, Json)>) -> Json {
        Json::Obj(pairs.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    pub fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Obj(pairs) => pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Json::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Json::Int(i) => Some(*i),
            _ => None,
        }
    }

    pub fn is_scalar(&self) -> bool {
        !matches!(self, Json::Arr(_) | Json::Obj(_))
    }

    /// Parse one JSON document; trailing non-space bytes are an error.
    pub fn parse(text: &str) -> Result<Json, String> {
        let mut p = Parser { s: text.as_bytes(), pos: 0 };
        let v = p.value(0)?;
        p.skip_ws();
        if p.pos != p.s.len() {
            return Err(format!("trailing characters at offset {}", p.pos));
        }
        Ok(v)
    }
}

impl From<&str> for Json {
    fn from(s: &str) -> Json {
        Json::Str(s.to_string())
    }
}
impl From<String> for Json {
    fn from(s: String) -> Json {
        Json::Str(s)
    }
}
impl From<bool> for Json {
    fn from(b: bool) -> Json {
        Json::Bool(b)
    }
}
impl From<i64> for Json {
    fn from(i: i64) -> Json {
        Json::Int(i)
    }
}
impl From<u32> for Json {
    fn from(i: u32) -> Json {
        Json::Int(i64::from(i))
    }
}
impl From<u64> for Json {
    /// Counters beyond i64::MAX saturate; no counter of ours gets there.
    fn from(i: u64) -> Json {
        Json::Int(i64::try_from(i).unwrap_or(i64::MAX))
    }
}

impl fmt::Display for Json {
    /// Compact JSON on one line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Json::Null => f.write_str("null"),
            Json::Bool(b) => write!(f, "{b}"),
            Json::Int(i) => write!(f, "{i}"),
            // JSON has no NaN or infinity.
            Json::Float(x) if !x.is_finite() => f.write_str("null"),
            // A fraction, or ".0", so that it parses back as a Float.
            Json::Float(x) => {
                let text = decimal(*x);
                f.write_str(&text)?;
                if text.bytes().all(|c| c == b'-' || c.is_ascii_digit()) {
                    f.write_str(".0")?;
                }
                Ok(())
            }
            Json::Str(s) => write_str(f, s),
            Json::Arr(items) => {
                f.write_str("[")?;
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{v}")?;
                }
                f.write_str("]")
            }
            Json::Obj(pairs) => {
                f.write_str("{")?;
                for (i, (k, v)) in pairs.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write_str(f, k)?;
                    write!(f, ":{v}")?;
                }
                f.write_str("}")
            }
        }
    }
}

fn write_str(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    f.write_str("\"")?;
    for c in s.chars() {
        match c {
            '"' => f.write_str("\\\"")?,
            '\\' => f.write_str("\\\\")?,
            '\n' => f.write_str("\\n")?,
            '\r' => f.write_str("\\r")?,
            '\t' => f.write_str("\\t")?,
            c if (c as u32) < 0x20 => write!(f, "\\u{:04x}", c as u32)?,
            c => write!(f, "{c}")?,
        }
    }
    f.write_str("\"")
}

struct Parser<'a> {
    s: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.s.get(self.pos) {
            self.pos += 1;
        }
    }

    fn err<T>(&self, what: &str) -> Result<T, String> {
        Err(format!("{what} at offset {}", self.pos))
    }

    fn eat(&mut self, b: u8) -> bool {
        if self.s.get(self.pos) == Some(&b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn value(&mut self, depth: usize) -> Result<Json, String> {
        if depth > MAX_DEPTH {
            return self.err("nesting too deep");
        }
        self.skip_ws();
        match self.s.get(self.pos) {
            None => self.err("unexpected end"),
            Some(b'{') => self.object(depth),
            Some(b'[') => self.array(depth),
            Some(b'"') => self.string().map(Json::Str),
            Some(b't') => self.word("true", Json::Bool(true)),
            Some(b'f') => self.word("false", Json::Bool(false)),
            Some(b'n') => self.word("null", Json::Null),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => self.err("unexpected character"),
        }
    }

    fn word(&mut self, w: &str, v: Json) -> Result<Json, String> {
        if self.s[self.pos..].starts_with(w.as_bytes()) {
            self.pos += w.len();
            Ok(v)
        } else {
            self.err("bad literal")
        }
    }

    fn object(&mut self, depth: usize) -> Result<Json, String> {
        self.pos += 1;
        let mut pairs = Vec::new();
        self.skip_ws();
        if self.eat(b'}') {
            return Ok(Json::Obj(pairs));
        }
        loop {
            self.skip_ws();
            if self.s.get(self.pos) != Some(&b'"') {
                return self.err("expected a key");
            }
            let k = self.string()?;
            self.skip_ws();
            if !self.eat(b':') {
                return self.err("expected ':'");
            }
            let v = self.value(depth + 1)?;
            pairs.push((k, v));
            self.skip_ws();
            if self.eat(b',') {
                continue;
            }
            if self.eat(b'}') {
                return Ok(Json::Obj(pairs));
            }
            return self.err("expected ',' or '}'");
        }
    }

    fn array(&mut self, depth: usize) -> Result<Json, String> {
        self.pos += 1;
        let mut items = Vec::new();
        self.skip_ws();
        if self.eat(b']') {
            return Ok(Json::Arr(items));
        }
        loop {
            items.push(self.value(depth + 1)?);
            self.skip_ws();
            if self.eat(b',') {
                continue;
            }
            if self.eat(b']') {
                return Ok(Json::Arr(items));
            }
            return self.err("expected ',' or ']'");
        }
    }

    fn number(&mut self) -> Result<Json, String> {
        let start = self.pos;
        self.eat(b'-');
        let mut float = false;
        while let Some(&b) = self.s.get(self.pos) {
            match b {
                b'0'..=b'9' => {}
                b'.' | b'e' | b'E' | b'+' | b'-' => float = true,
                _ => break,
            }
            self.pos += 1;
        }
        let text = std::str::from_utf8(&self.s[start..self.pos]).map_err(|e| e.to_string())?;
        if !float {
            if let Ok(i) = text.parse::<i64>() {
                return Ok(Json::Int(i));
            }
        }
        match decimal_to_f64(text) {
            Some(x) => Ok(Json::Float(x)),
            None => Err(format!("bad number '{text}' at offset {start}")),
        }
    }

    fn hex4(&mut self) -> Result<u32, String> {
        let h = self.s.get(self.pos..self.pos + 4).ok_or_else(|| "short \\u escape".to_string())?;
        let h = std::str::from_utf8(h).map_err(|e| e.to_string())?;
        let v = u32::from_str_radix(h, 16).map_err(|_| format!("bad \\u escape at offset {}", self.pos))?;
        self.pos += 4;
        Ok(v)
    }

    fn string(&mut self) -> Result<String, String> {
        self.pos += 1;
        let mut out = String::new();
        loop {
            let rest = &self.s[self.pos..];
            // Copy the run of plain bytes up to the next quote or backslash.
            let run = rest.iter().position(|&b| b == b'"' || b == b'\\' || b < 0x20);
            let Some(n) = run else { return self.err("unterminated string") };
            out.push_str(std::str::from_utf8(&rest[..n]).map_err(|e| e.to_string())?);
            self.pos += n;
            match self.s[self.pos] {
                b'"' => {
                    self.pos += 1;
                    return Ok(out);
                }
                b'\\' => {
                    self.pos += 1;
                    let Some(&e) = self.s.get(self.pos) else { return self.err("unterminated escape") };
                    self.pos += 1;
                    match e {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => {
                            let mut c = self.hex4()?;
                            // A surrogate pair encodes one character beyond the BMP.
                            if (0xd800..0xdc00).contains(&c) && self.s[self.pos..].starts_with(b"\\u") {
                                self.pos += 2;
                                let lo = self.hex4()?;
                                c = 0x10000 + ((c - 0xd800) << 10) + (lo.wrapping_sub(0xdc00) & 0x3ff);
                            }
                            out.push(char::from_u32(c).unwrap_or('\u{fffd}'));
                        }
                        _ => return self.err("bad escape"),
                    }
                }
                _ => return self.err("control character in string"),
            }
        }
    }
}

/// A JSON number (`-?digits[.digits][e[+-]digits]`) as f64, without std's
/// `f64::from_str`: its correctly rounded algorithm and tables cost about
/// 25 KB of a router binary, and vigil's own JSON never holds a fraction.
/// Exact (Clinger's fast path) when the significant digits fit 2^53 and the
/// power of ten is at most 22, as every number vigil or a status client
/// writes does; beyond that the last bit may differ from correct rounding.
fn decimal_to_f64(text: &str) -> Option<f64> {
    let b = text.as_bytes();
    let (negative, mut i) = if b.first() == Some(&b'-') { (true, 1) } else { (false, 0) };
    let (mut mantissa, mut exp10, mut digits, mut seen_dot) = (0u64, 0i32, 0usize, false);
    while let Some(&c) = b.get(i) {
        match c {
            b'0'..=b'9' => {
                digits += 1;
                if mantissa < 1_000_000_000_000_000_000 {
                    mantissa = mantissa * 10 + u64::from(c - b'0');
                    exp10 -= i32::from(seen_dot);
                } else {
                    exp10 += i32::from(!seen_dot);
                }
            }
            b'.' if !seen_dot => seen_dot = true,
            _ => break,
        }
        i += 1;
    }
    if digits == 0 {
        return None;
    }
    if let Some(b'e' | b'E') = b.get(i) {
        i += 1;
        let exp_negative = b.get(i) == Some(&b'-');
        if let Some(b'+' | b'-') = b.get(i) {
            i += 1;
        }
        let start = i;
        let mut e = 0i32;
        while let Some(&c @ b'0'..=b'9') = b.get(i) {
            e = (e * 10 + i32::from(c - b'0')).min(100_000);
            i += 1;
        }
        if i == start {
            return None;
        }
        exp10 += if exp_negative { -e } else { e };
    }
    if i != b.len() {
        return None;
    }
    let m = mantissa as f64;
    let x = if mantissa < 1 << 53 && (-22..=22).contains(&exp10) {
        let p = 10f64.powi(exp10.abs());
        if exp10 < 0 {
            m / p
        } else {
            m * p
        }
    } else {
        m * 10f64.powi(exp10)
    };
    Some(if negative { -x } else { x })
}

/// A finite `v` as a decimal number, without std's float formatting (its
/// shortest-round-trip algorithm and tables cost about 10 KB of a router
/// binary): integers as integers, the rest with up to nine decimals, and
/// numbers too large or too small for that as `1.5e-12`. Nine decimals,
/// where std prints the shortest exact digits: vigil's own JSON holds no
/// fraction, and the fractions its metrics print are microseconds given in
/// seconds, six decimals.
pub fn decimal(v: f64) -> String {
    let sign = if v < 0.0 { "-" } else { "" };
    let a = v.abs();
    if a.fract() == 0.0 && a < 1e18 {
        return format!("{sign}{}", a as u64);
    }
    if (1e-6..1e18).contains(&a) {
        return format!("{sign}{}", fixed9(a));
    }
    if a == 0.0 {
        return "0".into();
    }
    let (mut m, mut e) = (a, 0i32);
    while m >= 10.0 {
        m /= 10.0;
        e += 1;
    }
    while m < 1.0 {
        m *= 10.0;
        e -= 1;
    }
    format!("{sign}{}e{e}", fixed9(m))
}

/// `a` (non-negative, below 1e18) rounded to nine decimals, trailing zeros cut.
fn fixed9(a: f64) -> String {
    let scaled = (a * 1e9).round() as u128;
    let (int, mut frac, mut width) = (scaled / 1_000_000_000, (scaled % 1_000_000_000) as u32, 9);
    if frac == 0 {
        return int.to_string();
    }
    while frac % 10 == 0 {
        frac /= 10;
        width -= 1;
    }
    format!("{int}.{frac:0width$}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let v = Json::obj([
            ("name", Json::from("VI_1")),
            ("prio", Json::from(100u32)),
            ("up", Json::from(true)),
            ("ratio", Json::Float(0.5)),
            ("none", Json::Null),
            ("list", Json::Arr(vec![Json::Int(-3), Json::from("a\"b\\c\n\u{1}")])),
            ("empty", Json::obj(Vec::<(String, Json)>::new())),
        ]);
        let text = v.to_string();
        assert_eq!(
            text,
            r#"{"name":"VI_1","prio":100,"up":true,"ratio":0.5,"none":null,"list":[-3,"a\"b\\c\n\u0001"],"empty":{}}"#
        );
        assert_eq!(Json::parse(&text).unwrap(), v);
    }

    #[test]
    fn parses_whitespace_escapes_and_numbers() {
        let v = Json::parse(" { \"a\" : [ 1 , 2.5e1 , -0.25 ] , \"b\" : \"\\u00e9\\ud83d\\ude00\\/\" } ")
            .unwrap();
        assert_eq!(v.get("a"), Some(&Json::Arr(vec![Json::Int(1), Json::Float(25.0), Json::Float(-0.25)])));
        assert_eq!(v.get("b").and_then(Json::as_str), Some("é😀/"));
        assert_eq!(Json::parse("9223372036854775808").unwrap(), Json::Float(9.223372036854776e18));
        for (text, x) in
            [("0.1", 0.1), ("-1.5E-3", -0.0015), ("123.456e2", 12345.6), ("1e22", 1e22), ("0", 0.0)]
        {
            assert_eq!(decimal_to_f64(text), Some(x), "{text}");
        }
        for bad in ["-", ".", "1e", "1e+", "1.2.3", "1-2", "--1", "1e5e5"] {
            assert_eq!(decimal_to_f64(bad), None, "{bad}");
        }
    }

    #[test]
    fn rejects_bad_input_without_panicking() {
        for bad in [
            "",
            "{",
            "[1,",
            "{\"a\" 1}",
            "{\"a\":1,}",
            "tru",
            "\"abc",
            "\"\\x\"",
            "1 2",
            "{1:2}",
            "\"\\u12\"",
            "-",
            "[\"\u{1}\"]",
        ] {
            assert!(Json::parse(bad).is_err(), "{bad:?} should fail");
        }
        let deep = "[".repeat(1000) + &"]".repeat(1000);
        assert!(Json::parse(&deep).is_err());
    }

    #[test]
    fn non_finite_floats_emit_null() {
        assert_eq!(Json::Float(f64::NAN).to_string(), "null");
        for (v, text) in [
            (0.5, "0.5"),
            (-0.25, "-0.25"),
            (25.0, "25.0"),
            (0.1, "0.1"),
            (1.000000001, "1.000000001"),
            (123456.789, "123456.789"),
            (1.5e-12, "1.5e-12"),
            (-2.5e20, "-2.5e20"),
        ] {
            assert_eq!(Json::Float(v).to_string(), text);
            assert_eq!(Json::parse(text).unwrap(), Json::Float(v), "{text} parses back");
        }
        // Beyond nine significant digits the rest is rounded away.
        assert_eq!(Json::Float(9.223372036854776e18).to_string(), "9.223372037e18");
    }
}
