//! What UDP_CHECK and DNS_CHECK lines say, as values: the payload and the
//! rule a reply must pass (keepalived 2.2's hex strings), the query types
//! and what makes a `name` queryable. The checkers (`check::udp`,
//! `check::dns`) send and judge with them.

/// The datagram sent when no `payload` is given (keepalived sends 32 bytes).
pub const DEFAULT_PAYLOAD_LEN: usize = 32;
/// keepalived's default `max_reply_length`.
pub const DEFAULT_MAX_REPLY: u16 = 255;

/// Bytes from a hex string, with a wildcard mask when `x` nibbles were allowed and used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HexBytes {
    pub data: Vec<u8>,
    /// Per byte, the bits that match anything (`x` nibbles); `None` when there are none.
    pub mask: Option<Vec<u8>>,
}

/// What a reply must be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplyRule {
    /// `require_reply`: silence until the timeout fails the check.
    pub required: bool,
    /// The bytes of `require_reply HEX`.
    pub data: Option<HexBytes>,
    pub min_len: u16,
    pub max_len: u16,
}

impl Default for ReplyRule {
    fn default() -> ReplyRule {
        ReplyRule { required: false, data: None, min_len: 0, max_len: DEFAULT_MAX_REPLY }
    }
}

/// keepalived's hex strings: pairs of hex digits, spaces and tabs between
/// octets allowed; a single digit before a space or the end is one octet
/// (`"a b"` is 0a 0b); with `wildcards`, `x`/`X` is a nibble that matches
/// anything. Empty, or any other character, is an error.
pub fn parse_hex(s: &str, wildcards: bool) -> Result<HexBytes, String> {
    let nibble = |c: u8| -> Result<Option<u8>, String> {
        match c {
            b'0'..=b'9' => Ok(Some(c - b'0')),
            b'a'..=b'f' => Ok(Some(c - b'a' + 10)),
            b'A'..=b'F' => Ok(Some(c - b'A' + 10)),
            b'x' | b'X' if wildcards => Ok(None),
            _ => Err(format!("'{}' is not a hex digit", char::from(c))),
        }
    };
    let b = s.as_bytes();
    let (mut data, mut mask, mut masked) = (Vec::new(), Vec::new(), false);
    let mut i = 0;
    while i < b.len() {
        if b[i] == b' ' || b[i] == b'\t' {
            i += 1;
            continue;
        }
        let hi = nibble(b[i])?;
        i += 1;
        let (mut value, mut m) = (hi.unwrap_or(0), if hi.is_none() { 0x0f } else { 0 });
        if i < b.len() && b[i] != b' ' && b[i] != b'\t' {
            let lo = nibble(b[i])?;
            i += 1;
            value = (value << 4) | lo.unwrap_or(0);
            m = (m << 4) | if lo.is_none() { 0x0f } else { 0 };
        }
        masked |= m != 0;
        data.push(value);
        mask.push(m);
    }
    if data.is_empty() {
        return Err("no hex digits".to_string());
    }
    if data.len() > usize::from(u16::MAX) {
        return Err("longer than 65535 octets".to_string());
    }
    Ok(HexBytes { data, mask: masked.then_some(mask) })
}

/// The query types keepalived 2.2 accepts for `type`, and their codes.
pub const TYPES: [(&str, u16); 9] = [
    ("A", 1),
    ("NS", 2),
    ("CNAME", 5),
    ("SOA", 6),
    ("MX", 15),
    ("TXT", 16),
    ("AAAA", 28),
    ("RRSIG", 46),
    ("DNSKEY", 48),
];

/// The default `type`.
pub const DEFAULT_TYPE: &str = "SOA";
/// Its code.
pub const SOA: u16 = 6;
/// The longest name on the wire (RFC 1035 2.3.4), length bytes included.
const MAX_WIRE_NAME: usize = 255;
const MAX_LABEL: usize = 63;

/// The code of a `type` keyword, case-insensitive as in keepalived.
pub fn type_code(name: &str) -> Option<u16> {
    TYPES.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|&(_, c)| c)
}

/// The name of a type code (`TYPE<n>` for others).
pub fn type_name(code: u16) -> String {
    TYPES.iter().find(|&&(_, c)| c == code).map_or_else(|| format!("TYPE{code}"), |(n, _)| n.to_string())
}

/// Why a `name` cannot be queried.
pub fn check_name(name: &str) -> Result<(), String> {
    encode_name(name).map(|_| ())
}

/// `name` in wire form: length-prefixed labels and the root's zero byte.
/// `""` and `"."` are the root; one trailing dot is allowed.
pub fn encode_name(name: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(name.len() + 2);
    let body = name.strip_suffix('.').unwrap_or(name);
    if !body.is_empty() {
        for label in body.split('.') {
            if label.is_empty() {
                return Err(format!("name '{name}' has an empty label"));
            }
            if label.len() > MAX_LABEL {
                return Err(format!("name '{name}' has a label longer than {MAX_LABEL} bytes"));
            }
            out.push(label.len() as u8);
            out.extend_from_slice(label.as_bytes());
        }
    }
    out.push(0);
    if out.len() > MAX_WIRE_NAME {
        return Err(format!("name '{name}' is longer than {MAX_WIRE_NAME} bytes on the wire"));
    }
    Ok(out)
}
