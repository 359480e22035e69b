//! Splitting one logical line of keepalived.conf into tokens.
//!
//! The preprocessor hands over lines whose parameters are already
//! substituted; this module only knows keepalived's lexical rules:
//! whitespace separates words, `{` and `}` are tokens even when glued to a
//! word (`80{`), `#` and `!` start a comment anywhere outside quotes, and
//! quotes group text shell-style (`'a b'"c"` is the one word `a bc`).
//! Bytes that are not UTF-8 survive: comments are never decoded, and words
//! are decoded lossily.

use super::diag::{Diagnostic, Loc};
use super::token::{Token, TokenKind};
use std::rc::Rc;

/// Whitespace between words. A stray `\r` (CRLF files, old Mac files) counts.
pub fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | 0x0b | 0x0c)
}

/// The physical lines of a file, without their `\n` or `\r\n` ends.
pub fn lines(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    let body = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    let empty = bytes.is_empty();
    body.split(|&b| b == b'\n').filter(move |_| !empty).map(|l| l.strip_suffix(b"\r").unwrap_or(l))
}

/// Where the code of a line ends: the index of the first `#` or `!` outside
/// quotes, or the length of the line. Uses the same quoting rules as the
/// lexer, so both agree on what is a comment.
pub fn code_end(text: &[u8]) -> usize {
    let closes = LastClose::default();
    let mut i = 0;
    while i < text.len() {
        match text[i] {
            b'#' | b'!' => return i,
            q @ (b'"' | b'\'') => i = skip_quoted(text, i + 1, q),
            b'$' if text.get(i + 1) == Some(&b'{') => i = skip_braced_ref(text, i, &closes),
            _ => i += 1,
        }
    }
    text.len()
}

/// Index just past the closing quote `q` of a string whose body starts at `i`.
fn skip_quoted(text: &[u8], mut i: usize, q: u8) -> usize {
    while i < text.len() {
        match text[i] {
            b'\\' if q == b'"' => i += 2,
            c if c == q => return i + 1,
            _ => i += 1,
        }
    }
    text.len()
}

/// Index just past a `${...}` reference starting at `i`, or `i + 1` when it
/// is not closed. An unsubstituted `${NAME}` stays one word instead of
/// turning into braces the parser would take for a block.
fn skip_braced_ref(text: &[u8], i: usize, closes: &LastClose) -> usize {
    // Without a `}` after `i` there is nothing to look for: a line of
    // unclosed `${` would otherwise be searched to its end once per `${`.
    if closes.get(text).is_none_or(|c| c < i) {
        return i + 1;
    }
    match text[i..].iter().position(|&b| b == b'}') {
        Some(p) => i + p + 1,
        None => i + 1,
    }
}

/// The index of a line's last `}`, found once and only if asked for.
#[derive(Default)]
struct LastClose(std::cell::OnceCell<Option<usize>>);

impl LastClose {
    fn get(&self, text: &[u8]) -> Option<usize> {
        *self.0.get_or_init(|| text.iter().rposition(|&b| b == b'}'))
    }
}

/// The source column of each byte of a line being lexed.
#[derive(Clone, Copy, Debug)]
pub enum Columns<'a> {
    /// `cols[i]` is the column of `text[i]` (after parameter substitution a
    /// byte keeps the column of the `$` that made it).
    Each(&'a [u32]),
    /// Text straight from the file: `text[i]` is at column `first + i`.
    From(u32),
}

impl Columns<'_> {
    /// The column of byte `i`; just past the last byte for `i == len`.
    fn at(self, i: usize) -> u32 {
        match self {
            Columns::Each(cols) => match cols.get(i) {
                Some(&c) => c,
                None => cols.last().map_or(1, |&c| c.saturating_add(1)),
            },
            Columns::From(first) => first.saturating_add(u32::try_from(i).unwrap_or(u32::MAX)),
        }
    }
}

/// Lex one logical line, `cols` giving the source column of each byte.
/// Returns the tokens followed by an `Eol`, or nothing for a line without
/// tokens.
pub fn lex_line(
    text: &[u8],
    cols: Columns,
    file: &Rc<str>,
    line: u32,
    diags: &mut Vec<Diagnostic>,
) -> Vec<Token> {
    let mut tokens = Vec::new();
    lex_line_into(&mut tokens, text, cols, file, line, diags);
    tokens
}

/// [`lex_line`], appending to `tokens` (the preprocessor's one stream).
pub fn lex_line_into(
    tokens: &mut Vec<Token>,
    text: &[u8],
    cols: Columns,
    file: &Rc<str>,
    line: u32,
    diags: &mut Vec<Diagnostic>,
) {
    Lexer { text, cols, file, line, braces: true, closes: LastClose::default() }.run(tokens, diags)
}

/// Like [`lex_line`], but `{` and `}` are ordinary word characters. For the
/// arguments of `include`, whose globs use csh-style `{a,b}`.
pub fn lex_words(
    text: &[u8],
    cols: Columns,
    file: &Rc<str>,
    line: u32,
    diags: &mut Vec<Diagnostic>,
) -> Vec<Token> {
    let mut tokens = Vec::new();
    Lexer { text, cols, file, line, braces: false, closes: LastClose::default() }.run(&mut tokens, diags);
    tokens
}

/// Lex a whole buffer without any preprocessing (no `include`, `$`, `@`).
pub fn lex(name: &str, bytes: &[u8]) -> (Vec<Token>, Vec<Diagnostic>) {
    let file: Rc<str> = Rc::from(name);
    let mut tokens = Vec::new();
    let mut diags = Vec::new();
    for (n, text) in lines(bytes).enumerate() {
        let line = u32::try_from(n + 1).unwrap_or(u32::MAX);
        tokens.extend(lex_line(text, Columns::From(1), &file, line, &mut diags));
    }
    (tokens, diags)
}

/// Columns 1, 2, ... for a line taken straight from a file.
pub fn byte_columns(len: usize) -> Vec<u32> {
    (1..=len).map(|c| u32::try_from(c).unwrap_or(u32::MAX)).collect()
}

struct Lexer<'a> {
    text: &'a [u8],
    cols: Columns<'a>,
    file: &'a Rc<str>,
    line: u32,
    /// Whether `{` and `}` are tokens of their own.
    braces: bool,
    closes: LastClose,
}

impl Lexer<'_> {
    fn loc(&self, i: usize) -> Loc {
        Loc { file: self.file.clone(), line: self.line, col: self.cols.at(i) }
    }

    fn token(&self, kind: TokenKind, i: usize, quoted: bool) -> Token {
        Token { kind, loc: self.loc(i), quoted }
    }

    /// Append the line's tokens to `tokens`.
    fn run(&self, tokens: &mut Vec<Token>, diags: &mut Vec<Diagnostic>) {
        let text = self.text;
        let before = tokens.len();
        let mut i = 0;
        loop {
            while i < text.len() && is_space(text[i]) {
                i += 1;
            }
            let Some(&b) = text.get(i) else { break };
            match b {
                b'#' | b'!' => break,
                b'{' if self.braces => {
                    tokens.push(self.token(TokenKind::Open, i, false));
                    i += 1;
                }
                b'}' if self.braces => {
                    tokens.push(self.token(TokenKind::Close, i, false));
                    i += 1;
                }
                _ => {
                    let start = i;
                    let (word, quoted, end) = self.word(i, diags);
                    tokens.push(self.token(TokenKind::Word(word), start, quoted));
                    i = end;
                }
            }
        }
        if tokens.len() > before {
            // The end of the line: just past its last byte.
            tokens.push(self.token(TokenKind::Eol, text.len(), false));
        }
    }

    /// One word starting at `i`: its text, whether any part was quoted, and
    /// the index where it ends.
    fn word(&self, mut i: usize, diags: &mut Vec<Diagnostic>) -> (String, bool, usize) {
        let text = self.text;
        // Most words are plain: one allocation, straight from the text.
        let plain = text[i..]
            .iter()
            .position(|&b| is_space(b) || matches!(b, b'#' | b'!' | b'{' | b'}' | b'$' | b'"' | b'\''))
            .map_or(text.len(), |p| i + p);
        let ends_plainly = match text.get(plain) {
            None => true,
            Some(&b) => is_space(b) || matches!(b, b'#' | b'!') || (self.braces && matches!(b, b'{' | b'}')),
        };
        if ends_plainly {
            return (utf8_lossy(text[i..plain].to_vec()), false, plain);
        }
        let mut buf = Vec::new();
        let mut quoted = false;
        while let Some(&b) = text.get(i) {
            match b {
                _ if is_space(b) => break,
                b'#' | b'!' => break,
                b'{' | b'}' if self.braces => break,
                b'$' if text.get(i + 1) == Some(&b'{') => {
                    let end = skip_braced_ref(text, i, &self.closes);
                    buf.extend_from_slice(&text[i..end]);
                    i = end;
                }
                b'"' | b'\'' => {
                    quoted = true;
                    i = self.quoted(i, &mut buf, diags);
                }
                _ => {
                    buf.push(b);
                    i += 1;
                }
            }
        }
        (utf8_lossy(buf), quoted, i)
    }

    /// The body of a quoted string whose opening quote is at `open`, appended
    /// to `buf`. Returns the index after the closing quote. An unclosed quote
    /// takes the rest of the line.
    fn quoted(&self, open: usize, buf: &mut Vec<u8>, diags: &mut Vec<Diagnostic>) -> usize {
        let text = self.text;
        let q = text[open];
        let mut i = open + 1;
        while let Some(&b) = text.get(i) {
            if b == q {
                return i + 1;
            }
            if b == b'\\' && q == b'"' {
                match text.get(i + 1) {
                    Some(&e) => buf.push(unescape(e)),
                    None => buf.push(b'\\'),
                }
                i += 2;
            } else {
                buf.push(b);
                i += 1;
            }
        }
        diags.push(
            Diagnostic::error(Some(self.loc(open)), "unterminated quoted string")
                .with_hint(format!("add the closing {} on the same line", q as char)),
        );
        text.len()
    }
}

/// `bytes` as text, invalid UTF-8 replaced; valid text (nearly every
/// word) is taken over without a copy.
fn utf8_lossy(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// The byte that `\e` stands for inside double quotes. Any other escaped
/// byte stands for itself, so `\\` is `\` and `\"` is `"`.
fn unescape(e: u8) -> u8 {
    match e {
        b'n' => b'\n',
        b't' => b'\t',
        b'r' => b'\r',
        b'a' => 0x07,
        b'b' => 0x08,
        b'f' => 0x0c,
        b'v' => 0x0b,
        b'E' => 0x1b,
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &[u8]) -> Vec<TokenKind> {
        lex("t.conf", src).0.into_iter().map(|t| t.kind).collect()
    }

    fn w(s: &str) -> TokenKind {
        TokenKind::Word(s.to_string())
    }

    use TokenKind::{Close, Eol, Open};

    #[test]
    fn glued_braces_are_tokens() {
        assert_eq!(
            kinds(b"virtual_server 10.0.0.1 80{\n}}\n"),
            vec![w("virtual_server"), w("10.0.0.1"), w("80"), Open, Eol, Close, Close, Eol]
        );
        assert_eq!(kinds(b"a{b}c"), vec![w("a"), Open, w("b"), Close, w("c"), Eol]);
    }

    #[test]
    fn one_line_block() {
        assert_eq!(
            kinds(b"virtual_ipaddress { 10.0.0.1/24 }"),
            vec![w("virtual_ipaddress"), Open, w("10.0.0.1/24"), Close, Eol]
        );
    }

    #[test]
    fn comments_anywhere_and_no_empty_eols() {
        let src = b"# head\n! bang\n\n   \npriority 100 # why\nstate MASTER! x\nweight 5#x\n\t\n";
        assert_eq!(
            kinds(src),
            vec![w("priority"), w("100"), Eol, w("state"), w("MASTER"), Eol, w("weight"), w("5"), Eol]
        );
    }

    #[test]
    fn quotes_and_escapes() {
        let (toks, diags) = lex("t", br#"script "/bin/check --fast" 'a b'"c" "x\"y\\z\n\t\q" plain"#);
        assert!(diags.is_empty());
        let words: Vec<(&str, bool)> = toks.iter().filter_map(|t| t.word().map(|w| (w, t.quoted))).collect();
        assert_eq!(
            words,
            vec![
                ("script", false),
                ("/bin/check --fast", true),
                ("a bc", true),
                ("x\"y\\z\n\tq", true),
                ("plain", false),
            ]
        );
        // Comment characters and braces inside quotes are text.
        assert_eq!(kinds(b"k \"a # b { }\" '!'"), vec![w("k"), w("a # b { }"), w("!"), Eol]);
        // Backslash outside quotes and in single quotes is literal.
        assert_eq!(kinds(br"a\b 'c\d'"), vec![w(r"a\b"), w(r"c\d"), Eol]);
    }

    #[test]
    fn unterminated_quote_is_an_error_and_takes_the_rest() {
        let (toks, diags) = lex("t", b"notify \"/bin/x arg # not a comment");
        assert_eq!(diags.len(), 1);
        assert!(diags[0].is_error());
        assert_eq!(diags[0].loc.as_ref().map(|l| l.col), Some(8));
        assert_eq!(toks[1].word(), Some("/bin/x arg # not a comment"));
        assert!(toks[1].quoted);
    }

    #[test]
    fn crlf_tabs_and_stray_cr() {
        assert_eq!(kinds(b"a\tb\r\nc\rd\r\n\r\n"), vec![w("a"), w("b"), Eol, w("c"), w("d"), Eol]);
    }

    #[test]
    fn shift_jis_comment_and_lossy_words() {
        // "# 仮想IP" in Shift_JIS, then a word holding an invalid byte.
        let src = b"# \x89\xbc\x91\x7a IP\nrouter_id r\xff1 ! \x82\xa0\n";
        let (toks, diags) = lex("t", src);
        assert!(diags.is_empty());
        let k: Vec<TokenKind> = toks.into_iter().map(|t| t.kind).collect();
        assert_eq!(k, vec![w("router_id"), w("r\u{fffd}1"), Eol]);
    }

    #[test]
    fn positions_are_one_based_byte_columns() {
        let (toks, _) = lex("f.conf", b"\n  ab {\t\"c d\"}\n");
        let at: Vec<(u32, u32)> = toks.iter().map(|t| (t.loc.line, t.loc.col)).collect();
        assert_eq!(at, vec![(2, 3), (2, 6), (2, 8), (2, 13), (2, 14)]);
        assert_eq!(&*toks[0].loc.file, "f.conf");
    }

    #[test]
    fn unsubstituted_braced_reference_stays_one_word() {
        assert_eq!(kinds(b"x ${UNDEF}y {"), vec![w("x"), w("${UNDEF}y"), Open, Eol]);
    }

    #[test]
    fn code_end_agrees_with_the_lexer() {
        assert_eq!(code_end(b"a \"#\" 'b!' # c"), 11);
        assert_eq!(code_end(b"a\"\\\"#\""), 6);
        assert_eq!(code_end(b"x!y"), 1);
        assert_eq!(code_end(b"\"open # no"), 10);
    }

    #[test]
    fn include_words_keep_braces() {
        let file: Rc<str> = Rc::from("t");
        let text = b"include conf.d/{a,b}.conf";
        let toks = lex_words(text, Columns::Each(&byte_columns(text.len())), &file, 1, &mut Vec::new());
        assert_eq!(
            toks.iter().filter_map(Token::word).collect::<Vec<_>>(),
            vec!["include", "conf.d/{a,b}.conf"]
        );
    }
}
