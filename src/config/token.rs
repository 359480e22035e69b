//! The token stream that the preprocessor hands to the parser.
//!
//! keepalived's grammar is line-oriented: a keyword takes the words that
//! follow it up to the end of the line or an opening brace. So the stream
//! keeps line ends (`Eol`) and braces as tokens of their own, after
//! `include`, parameters and conditional lines have been resolved.

use super::diag::Loc;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TokenKind {
    /// A word or a quoted string (quotes removed, escapes resolved).
    Word(String),
    /// `{`, also when glued to a word: `80{` is `80` then `{`.
    Open,
    /// `}`
    Close,
    /// End of a logical line.
    Eol,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token {
    pub kind: TokenKind,
    pub loc: Loc,
    /// True when the word came from a quoted string, so a script command
    /// line such as `"/bin/check --fast"` stays one argument.
    pub quoted: bool,
}

impl Token {
    pub fn word(&self) -> Option<&str> {
        match &self.kind {
            TokenKind::Word(w) => Some(w),
            _ => None,
        }
    }
}
