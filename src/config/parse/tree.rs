//! Tokens -> a tree of statements, independent of any keyword.
//!
//! A statement is the words of one line up to its end or an opening brace;
//! a brace opens the statement's block. A `{` that starts a line opens the
//! block of the statement just above (`virtual_server ...` then `{`). Brace
//! errors are reported here, once, at the brace.

use super::super::diag::{Diagnostic, Loc};
use super::super::token::{Token, TokenKind};

/// Deeper blocks are skipped: no real configuration nests more than five.
const MAX_DEPTH: usize = 32;

#[derive(Debug)]
pub struct Stmt<'t> {
    pub key: &'t Token,
    pub args: Vec<&'t Token>,
    pub body: Option<Body<'t>>,
}

#[derive(Debug)]
pub struct Body<'t> {
    pub open: &'t Token,
    pub stmts: Vec<Stmt<'t>>,
}

impl<'t> Stmt<'t> {
    pub fn name(&self) -> &'t str {
        self.key.word().unwrap_or("")
    }

    pub fn loc(&self) -> &'t Loc {
        &self.key.loc
    }

    pub fn arg(&self, i: usize) -> Option<&'t str> {
        self.args.get(i).and_then(|t| t.word())
    }

    /// The statements of the block, empty if there is none.
    pub fn stmts(&self) -> &[Stmt<'t>] {
        self.body.as_ref().map(|b| b.stmts.as_slice()).unwrap_or(&[])
    }

    /// The line as words, key first.
    pub fn words(&self) -> Vec<String> {
        std::iter::once(self.key)
            .chain(self.args.iter().copied())
            .filter_map(|t| t.word())
            .map(String::from)
            .collect()
    }
}

pub fn build<'t>(toks: &'t [Token], diags: &mut Vec<Diagnostic>) -> Vec<Stmt<'t>> {
    let mut b = Builder { toks, pos: 0, diags };
    b.block(0, None)
}

struct Builder<'t, 'd> {
    toks: &'t [Token],
    pos: usize,
    diags: &'d mut Vec<Diagnostic>,
}

impl<'t> Builder<'t, '_> {
    /// Statements up to the `}` that closes `open` (or the end for the top level).
    fn block(&mut self, depth: usize, open: Option<(&'t Token, &'t str)>) -> Vec<Stmt<'t>> {
        let mut stmts: Vec<Stmt<'t>> = Vec::new();
        // The last statement ended at a line end, so a `{` now belongs to it.
        let mut may_attach = false;
        loop {
            let Some(t) = self.toks.get(self.pos) else {
                if let Some((o, owner)) = open {
                    self.diags.push(
                        Diagnostic::error(
                            Some(o.loc.clone()),
                            format!("the '{{' of '{owner}' is never closed (end of file reached)"),
                        )
                        .with_hint("add the missing '}'"),
                    );
                }
                return stmts;
            };
            self.pos += 1;
            match &t.kind {
                TokenKind::Eol => {}
                TokenKind::Close => {
                    if open.is_some() {
                        return stmts;
                    }
                    self.diags.push(Diagnostic::error(
                        Some(t.loc.clone()),
                        "unmatched '}' (no block is open here)",
                    ));
                    may_attach = false;
                }
                TokenKind::Open => {
                    let owner = stmts.last().filter(|s| may_attach && s.body.is_none()).map(|s| s.name());
                    let body = self.body(depth, t, owner.unwrap_or("{"));
                    match stmts.last_mut() {
                        Some(s) if owner.is_some() => s.body = Some(body),
                        _ => self.diags.push(
                            Diagnostic::error(
                                Some(t.loc.clone()),
                                "unexpected '{' (no keyword opens this block)",
                            )
                            .with_hint("the block is skipped"),
                        ),
                    }
                    may_attach = false;
                }
                TokenKind::Word(_) => {
                    let mut stmt = Stmt { key: t, args: Vec::new(), body: None };
                    may_attach = true;
                    while let Some(n) = self.toks.get(self.pos) {
                        match &n.kind {
                            TokenKind::Word(_) => {
                                stmt.args.push(n);
                                self.pos += 1;
                            }
                            TokenKind::Open => {
                                self.pos += 1;
                                stmt.body = Some(self.body(depth, n, stmt.name()));
                                may_attach = false;
                                break;
                            }
                            TokenKind::Eol => {
                                self.pos += 1;
                                break;
                            }
                            // Closes the enclosing block: `{ 10.0.0.1 }`.
                            TokenKind::Close => {
                                may_attach = false;
                                break;
                            }
                        }
                    }
                    stmts.push(stmt);
                }
            }
        }
    }

    fn body(&mut self, depth: usize, open: &'t Token, owner: &'t str) -> Body<'t> {
        if depth + 1 >= MAX_DEPTH {
            self.diags.push(Diagnostic::error(Some(open.loc.clone()), "blocks nested too deeply; skipped"));
            self.skip_block();
            return Body { open, stmts: Vec::new() };
        }
        Body { open, stmts: self.block(depth + 1, Some((open, owner))) }
    }

    /// Skips to the `}` matching an already consumed `{`.
    fn skip_block(&mut self) {
        let mut level = 1usize;
        while let Some(t) = self.toks.get(self.pos) {
            self.pos += 1;
            match t.kind {
                TokenKind::Open => level += 1,
                TokenKind::Close => {
                    level -= 1;
                    if level == 0 {
                        return;
                    }
                }
                _ => {}
            }
        }
    }
}
