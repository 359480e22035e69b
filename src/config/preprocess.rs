//! The preprocessor: keepalived.conf bytes (and everything they include) to
//! one token stream.
//!
//! Each line goes through keepalived's steps in order: `@id` / `@^id`
//! conditionals, `$NAME=value` definitions, `~SEQ` / `~LST` generators,
//! parameter substitution, then `include` or lexing. A multi-line parameter
//! value splices in as several lines, and each of them goes through all the
//! steps again, so a value may hold conditionals and definitions of its own.
//!
//! Whatever the bytes, this terminates: include depth, nesting depth, line
//! length, total work and total tokens are all bounded, and hitting a bound
//! is an error diagnostic, never a panic.

use super::diag::{Diagnostic, Loc, Severity};
use super::lexer;
use super::token::Token;
use super::LoadOptions;
use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use super::snapshot::{ReadFile, Snapshot};
use std::rc::Rc;

/// How far one load may expand: production's bounds unless a caller lowers
/// them (the config_load fuzz target does, so that an input reaching one
/// costs milliseconds instead of a second and the fuzzer's time goes to other
/// inputs; the code that enforces them is the same).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// One unit per byte handled plus a fixed cost per line, so a generator
    /// with an empty body still counts.
    pub work: u64,
    pub tokens: usize,
}

impl Limits {
    pub const PRODUCTION: Limits = Limits { work: 32 << 20, tokens: 1_000_000 };
}

/// Files being read at once (keepalived's own limit is similar).
const MAX_INCLUDE_DEPTH: usize = 32;
/// Generators and multi-line values nested inside one another.
const MAX_LINE_DEPTH: u32 = 64;
/// Parameters whose values refer to further parameters.
const MAX_PARAM_DEPTH: usize = 64;
const MAX_LINE_BYTES: usize = 1 << 20;
const LINE_COST: u64 = 32;
/// Problems reported before reading stops: a few bytes of self-referring
/// parameters can otherwise report the same problem millions of times.
const MAX_DIAGS: usize = 1000;
/// Work charged per problem reported (its message and location).
const DIAG_COST: u64 = 256;
const MAX_GLOB_PATTERNS: usize = 1024;
const MAX_GLOB_ENTRIES: usize = 100_000;
const MAX_BRACE_DEPTH: usize = 64;
/// Path components in one glob; deeper patterns match nothing.
const MAX_GLOB_COMPONENTS: usize = 128;

/// Preprocess a configuration file and everything it includes. A file that
/// cannot be read gives one error without a location.
pub fn preprocess_file(path: &Path, opts: &LoadOptions) -> (Vec<Token>, Vec<Diagnostic>) {
    let mut pre = Preprocessor::new(opts);
    match crate::config::file::read_config(path) {
        Ok(bytes) => {
            pre.open_files.push(fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf()));
            let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
            let src = Source::new(Rc::from(path.to_string_lossy().as_ref()), dir);
            pre.run(&src, &bytes);
        }
        Err(e) => pre.diags.push(Diagnostic::error(None, format!("cannot read {}: {e}", path.display()))),
    }
    (pre.tokens, pre.diags)
}

/// Preprocess a configuration held in memory. `name` is the file name used in
/// locations; relative `include`s and `${_PWD}` use `base_dir`.
pub fn preprocess_bytes(
    name: &str,
    bytes: &[u8],
    base_dir: &Path,
    opts: &LoadOptions,
) -> (Vec<Token>, Vec<Diagnostic>) {
    let mut pre = Preprocessor::new(opts);
    pre.run(&Source::new(Rc::from(name), base_dir.to_path_buf()), bytes);
    (pre.tokens, pre.diags)
}

/// Preprocess `bytes` as `preprocess_bytes` does and record what every
/// `include` matched and read (see `snapshot`).
pub fn preprocess_recording(
    name: &str,
    bytes: &[u8],
    base_dir: &Path,
    opts: &LoadOptions,
) -> (Vec<Token>, Vec<Diagnostic>, Snapshot) {
    let mut pre = Preprocessor::new(opts);
    pre.files = Files::Record(Snapshot::new(bytes.to_vec()));
    pre.run(&Source::new(Rc::from(name), base_dir.to_path_buf()), bytes);
    let Files::Record(snap) = std::mem::replace(&mut pre.files, Files::Disk) else { unreachable!() };
    (pre.tokens, pre.diags, snap)
}

/// Preprocess a snapshot: its main file, with `include`s served from it.
pub fn preprocess_snapshot(
    name: &str,
    snap: &Snapshot,
    base_dir: &Path,
    opts: &LoadOptions,
) -> (Vec<Token>, Vec<Diagnostic>) {
    let mut pre = Preprocessor::new(opts);
    pre.files = Files::Replay(snap.clone());
    pre.run(&Source::new(Rc::from(name), base_dir.to_path_buf()), &snap.main);
    (pre.tokens, pre.diags)
}

/// Where included files come from.
enum Files {
    Disk,
    /// The disk, noting what was matched and read.
    Record(Snapshot),
    /// Only what a recording saw.
    Replay(Snapshot),
}

impl Files {
    fn glob(&mut self, dir: &Path, pattern: &str) -> Vec<PathBuf> {
        let key = (dir.to_path_buf(), pattern.to_string());
        match self {
            Files::Disk => glob(dir, pattern),
            Files::Record(snap) => snap.globs.entry(key).or_insert_with(|| glob(dir, pattern)).clone(),
            Files::Replay(snap) => snap.globs.get(&key).cloned().unwrap_or_default(),
        }
    }

    fn read(&mut self, path: &Path) -> ReadFile {
        let from_disk = || ReadFile {
            canonical: fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf()),
            bytes: crate::config::file::read_config(path).map_err(|e| e.to_string()),
        };
        match self {
            Files::Disk => from_disk(),
            Files::Record(snap) => snap.files.entry(path.to_path_buf()).or_insert_with(from_disk).clone(),
            Files::Replay(snap) => snap.files.get(path).cloned().unwrap_or_else(|| ReadFile {
                canonical: path.to_path_buf(),
                bytes: Err("not in the validated configuration".into()),
            }),
        }
    }
}

/// Text with the source column of each byte.
#[derive(Clone, Debug, Default)]
struct Line {
    bytes: Vec<u8>,
    cols: Vec<u32>,
}

impl Line {
    fn from_source(bytes: &[u8]) -> Line {
        Line { bytes: bytes.to_vec(), cols: lexer::byte_columns(bytes.len()) }
    }

    /// Text produced by substitution: every byte has the column of the `$`.
    fn at_col(bytes: &[u8], col: u32) -> Line {
        Line { bytes: bytes.to_vec(), cols: vec![col; bytes.len()] }
    }

    fn tail(&self, from: usize) -> Line {
        let from = from.min(self.bytes.len());
        Line { bytes: self.bytes[from..].to_vec(), cols: self.cols[from..].to_vec() }
    }

    fn trim_start(self) -> Line {
        let n = self.bytes.iter().take_while(|&&b| lexer::is_space(b)).count();
        if n == 0 {
            self
        } else {
            self.tail(n)
        }
    }

    fn push_slice(&mut self, bytes: &[u8], cols: &Cols) {
        self.bytes.extend_from_slice(bytes);
        match cols {
            Cols::Fixed(c) => self.cols.resize(self.bytes.len(), *c),
            Cols::Each(c) => {
                let n = bytes.len().min(c.len());
                self.cols.extend_from_slice(&c[..n]);
                let last = c.last().copied().unwrap_or(1);
                self.cols.resize(self.bytes.len(), last);
            }
        }
    }

    fn append(&mut self, other: Line) {
        self.bytes.extend(other.bytes);
        self.cols.extend(other.cols);
    }
}

/// Columns of a text being substituted: its own, or one for all of it.
#[derive(Clone, Copy)]
enum Cols<'a> {
    Each(&'a [u32]),
    Fixed(u32),
}

impl Cols<'_> {
    fn at(&self, i: usize) -> u32 {
        match self {
            Cols::Each(c) => c.get(i).or(c.last()).copied().unwrap_or(1),
            Cols::Fixed(c) => *c,
        }
    }

    fn from(&self, i: usize) -> Self {
        match self {
            Cols::Each(c) => Cols::Each(c.get(i..).unwrap_or(&[])),
            Cols::Fixed(c) => Cols::Fixed(*c),
        }
    }
}

/// The file being read.
struct Source {
    name: Rc<str>,
    /// Relative includes start here.
    dir: PathBuf,
    /// `${_PWD}`: the same directory, absolute when it can be resolved.
    pwd: String,
}

impl Source {
    fn new(name: Rc<str>, dir: PathBuf) -> Source {
        let shown = if dir.as_os_str().is_empty() { Path::new(".") } else { dir.as_path() };
        let pwd = fs::canonicalize(shown).unwrap_or_else(|_| shown.to_path_buf());
        Source { name, dir, pwd: pwd.to_string_lossy().into_owned() }
    }

    fn loc(&self, line: u32, col: u32) -> Loc {
        Loc { file: self.name.clone(), line, col }
    }
}

/// A line after substitution: the line itself, and the lines a multi-line
/// value added after it, still to be preprocessed.
#[derive(Default)]
struct Expansion {
    line: Line,
    pending: Vec<Line>,
}

/// How a substitution pass over one line ended.
#[derive(PartialEq, Eq)]
enum Flow {
    /// The whole text was substituted into the current line.
    Done,
    /// A multi-line value ended the line; the rest went to `pending`.
    Split,
    /// A limit was hit; the line is dropped.
    Abort,
}

struct Preprocessor<'a> {
    config_id: &'a str,
    limits: Limits,
    params: HashMap<String, String>,
    tokens: Vec<Token>,
    diags: Vec<Diagnostic>,
    /// Canonical paths of the files being read, outermost first.
    open_files: Vec<PathBuf>,
    work: u64,
    /// Set when a global limit is hit: nothing more is read.
    stopped: bool,
    rng: u64,
    files: Files,
}

impl<'a> Preprocessor<'a> {
    fn new(opts: &'a LoadOptions) -> Self {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        Preprocessor {
            config_id: &opts.config_id,
            limits: opts.limits,
            params: HashMap::new(),
            tokens: Vec::new(),
            diags: Vec::new(),
            open_files: Vec::new(),
            work: 0,
            stopped: false,
            rng: (now ^ u64::from(std::process::id()).rotate_left(32)) | 1,
            files: Files::Disk,
        }
    }

    /// Count work; false (after one error) once the budget is spent.
    fn charge(&mut self, units: u64, loc: &Loc) -> bool {
        self.work = self.work.saturating_add(units);
        if self.work > self.limits.work && !self.stopped {
            self.stop(loc, "configuration expands to too much text; stopped reading it");
        }
        !self.stopped
    }

    fn stop(&mut self, loc: &Loc, msg: &str) {
        self.stopped = true;
        self.diags.push(
            Diagnostic::error(Some(loc.clone()), msg)
                .with_hint("look for parameters or ~SEQ/~LST lines that expand into each other"),
        );
    }

    /// Record a problem. Each costs work, and after `MAX_DIAGS` reading
    /// stops with one final error.
    fn report(&mut self, diag: Diagnostic) {
        if self.stopped {
            return;
        }
        if self.diags.len() >= MAX_DIAGS {
            self.stopped = true;
            self.diags.push(
                Diagnostic::error(diag.loc, "more than 1,000 problems; stopped reading the configuration")
                    .with_hint("fix the first ones; parameters that refer to themselves repeat a problem"),
            );
            return;
        }
        let loc = diag.loc.clone();
        self.diags.push(diag);
        if let Some(loc) = loc {
            self.charge(DIAG_COST, &loc);
        }
    }

    fn run(&mut self, src: &Source, bytes: &[u8]) {
        // About a token per four bytes: room made once, not by doubling
        // (each doubling copies the stream and touches fresh pages).
        self.tokens.reserve((bytes.len() / 4).min(self.limits.tokens.saturating_sub(self.tokens.len())));
        // Sized by one count of the newlines rather than grown by doubling.
        let mut phys: Vec<&[u8]> = Vec::with_capacity(bytes.iter().filter(|&&b| b == b'\n').count() + 1);
        phys.extend(lexer::lines(bytes));
        let mut i = 0;
        while i < phys.len() && !self.stopped {
            let lineno = u32::try_from(i + 1).unwrap_or(u32::MAX);
            if is_plain(phys[i]) {
                self.plain_line(src, phys[i], lineno);
                i += 1;
                continue;
            }
            let mut text = phys[i].to_vec();
            i += 1;
            // A definition ending in `\` continues on the next line.
            if is_definition_line(&text) {
                while ends_with_backslash(&text) && i < phys.len() {
                    text.push(b'\n');
                    text.extend_from_slice(phys[i]);
                    i += 1;
                }
            }
            self.line(src, Line::from_source(&text), lineno, 0);
        }
    }

    /// A line [`is_plain`]: what [`Preprocessor::line`] does with it, without
    /// copying it (every step but lexing leaves such a line as it is).
    fn plain_line(&mut self, src: &Source, text: &[u8], lineno: u32) {
        if !self.charge(LINE_COST + text.len() as u64, &src.loc(lineno, 1)) {
            return;
        }
        let indent = text.iter().take_while(|&&b| lexer::is_space(b)).count();
        let first_col = u32::try_from(indent + 1).unwrap_or(u32::MAX);
        self.emit(src, &text[indent..], lexer::Columns::From(first_col), lineno);
    }

    /// All the steps for one logical line.
    fn line(&mut self, src: &Source, line: Line, lineno: u32, depth: u32) {
        let here = src.loc(lineno, line.cols.first().copied().unwrap_or(1));
        if depth > MAX_LINE_DEPTH {
            self.report(Diagnostic::error(
                Some(here),
                "parameters or generators nested too deeply; line ignored",
            ));
            return;
        }
        if !self.charge(LINE_COST + line.bytes.len() as u64, &here) {
            return;
        }
        let Some(line) = self.condition(line.trim_start()) else { return };
        if let Some((name, value)) = definition(&line.bytes) {
            self.define(name, value);
            return;
        }
        if line.bytes.starts_with(b"~") && self.generate(src, &line, lineno, depth) {
            return;
        }
        let mut out = Expansion::default();
        let flow =
            self.substitute(src, lineno, &line.bytes, Cols::Each(&line.cols), &mut Vec::new(), &mut out);
        if flow == Flow::Abort {
            return;
        }
        // A value may itself start with a condition (`$IF_MAIN=@main`).
        if let Some(first) = self.condition(out.line.trim_start()) {
            self.emit(src, &first.bytes, lexer::Columns::Each(&first.cols), lineno);
        }
        for p in out.pending {
            if self.stopped {
                break;
            }
            self.line(src, p, lineno, depth + 1);
        }
    }

    /// Apply `@id` / `@^id` prefixes: the rest of the line if it is for this
    /// node, `None` if not.
    fn condition(&self, mut line: Line) -> Option<Line> {
        while line.bytes.first() == Some(&b'@') {
            let end = line.bytes.iter().position(|&b| lexer::is_space(b)).unwrap_or(line.bytes.len());
            let (negate, id) = match line.bytes.get(1) {
                Some(b'^') => (true, &line.bytes[2..end]),
                _ => (false, &line.bytes[1..end]),
            };
            if (id == self.config_id.as_bytes()) == negate {
                return None;
            }
            line = line.tail(end).trim_start();
        }
        Some(line)
    }

    /// Store a definition. Each line of the value is trimmed, loses its
    /// comment and its continuation `\`, and empty lines are dropped.
    fn define(&mut self, name: String, raw: &[u8]) {
        let parts: Vec<&[u8]> = raw.split(|&b| b == b'\n').collect();
        let last = parts.len().saturating_sub(1);
        let mut value: Vec<&[u8]> = Vec::new();
        for (n, part) in parts.into_iter().enumerate() {
            let mut part = trim(&part[..lexer::code_end(part)]);
            if n < last || ends_with_backslash(part) {
                part = trim(part.strip_suffix(b"\\").unwrap_or(part));
            }
            if !part.is_empty() {
                value.push(part);
            }
        }
        self.params.insert(name, String::from_utf8_lossy(&value.join(&b'\n')).into_owned());
    }

    /// Substitute parameters in `text` into `out`. `stack` holds the names
    /// being substituted, to catch a value that refers to itself. Comments
    /// are copied untouched.
    fn substitute(
        &mut self,
        src: &Source,
        lineno: u32,
        text: &[u8],
        cols: Cols,
        stack: &mut Vec<String>,
        out: &mut Expansion,
    ) -> Flow {
        let code = lexer::code_end(text);
        // A `${` with no `}` after it is not searched for one: a line of them
        // stays linear.
        let last_close = text.iter().rposition(|&b| b == b'}');
        let mut quote: Option<u8> = None;
        let mut i = 0;
        while i < text.len() {
            if out.line.bytes.len() > MAX_LINE_BYTES {
                self.report(Diagnostic::error(
                    Some(src.loc(lineno, cols.at(i))),
                    "line longer than 1 MiB after parameter substitution; line ignored",
                ));
                return Flow::Abort;
            }
            if i >= code {
                out.line.push_slice(&text[i..], &cols.from(i));
                break;
            }
            let b = text[i];
            let rf = if b == b'$' { reference(text, i, last_close) } else { None };
            let Some(rf) = rf else {
                match quote {
                    Some(q) if b == q => quote = None,
                    Some(b'"') if b == b'\\' && i + 1 < code => {
                        out.line.push_slice(&text[i..i + 2], &cols.from(i));
                        i += 2;
                        continue;
                    }
                    None if b == b'"' || b == b'\'' => quote = Some(b),
                    _ => {}
                }
                // Copy up to the next byte that may matter, in one go.
                let run = text[i + 1..code]
                    .iter()
                    .position(|&c| matches!(c, b'$' | b'"' | b'\'' | b'\\'))
                    .map_or(code, |p| i + 1 + p);
                out.line.push_slice(&text[i..run], &cols.from(i));
                i = run;
                continue;
            };
            let loc = src.loc(lineno, cols.at(i));
            let literal = &text[i..rf.end];
            let value = self.value(src, &rf.name, &rf.args);
            let value = match value {
                None => {
                    if (rf.braced || rf.spaced) && quote.is_none() {
                        self.report(Diagnostic::warning(
                            Some(loc.clone()),
                            format!("parameter ${} is not defined; left as it is", rf.name),
                        ));
                    }
                    None
                }
                Some(_) if !rf.braced && !rf.spaced => {
                    self.report(
                        Diagnostic::warning(
                            Some(loc.clone()),
                            format!("${} is not followed by a space, so it is not substituted", rf.name),
                        )
                        .with_hint(format!("write ${{{}}}", rf.name)),
                    );
                    None
                }
                Some(_) if stack.contains(&rf.name) => {
                    self.report(Diagnostic::error(
                        Some(loc.clone()),
                        format!("parameter ${} refers to itself; left as it is", rf.name),
                    ));
                    None
                }
                Some(_) if stack.len() >= MAX_PARAM_DEPTH => {
                    self.report(Diagnostic::error(
                        Some(loc.clone()),
                        format!("parameters nested more than {MAX_PARAM_DEPTH} deep; line ignored"),
                    ));
                    return Flow::Abort;
                }
                Some(v) => Some(v),
            };
            let Some(value) = value else {
                out.line.push_slice(literal, &cols.from(i));
                i = rf.end;
                continue;
            };
            if !self.charge(1 + value.len() as u64, &loc) {
                return Flow::Abort;
            }
            let col = cols.at(i);
            let mut value_lines = value.split('\n');
            let first = value_lines.next().unwrap_or("");
            stack.push(rf.name);
            let flow = self.substitute(src, lineno, first.as_bytes(), Cols::Fixed(col), stack, out);
            stack.pop();
            if flow == Flow::Abort {
                return Flow::Abort;
            }
            let before = out.pending.len();
            out.pending.extend(value_lines.map(|l| Line::at_col(l.as_bytes(), col)));
            if flow == Flow::Split || out.pending.len() > before {
                // The rest of this line follows the value's last line.
                let mut rest = Line::default();
                rest.push_slice(&text[rf.end..], &cols.from(rf.end));
                if let Some(last) = out.pending.last_mut() {
                    last.append(rest);
                }
                return Flow::Split;
            }
            i = rf.end;
        }
        Flow::Done
    }

    /// The value of a parameter, predefined ones first.
    fn value(&mut self, src: &Source, name: &str, args: &str) -> Option<String> {
        Some(match name {
            "_PWD" => src.pwd.clone(),
            "_INSTANCE" => self.config_id.to_string(),
            "_HASH" => "#".to_string(),
            "_BANG" => "!".to_string(),
            "_RANDOM" => self.random(args).to_string(),
            "_ENV" => std::env::var(args.trim()).unwrap_or_default(),
            _ => return self.params.get(name).cloned(),
        })
    }

    /// `${_RANDOM [MIN [MAX]]}`: defaults 0 and 32767, as in keepalived.
    fn random(&mut self, args: &str) -> u64 {
        let mut nums = args.split_whitespace().map(|a| a.parse::<u64>().ok());
        let min = nums.next().flatten().unwrap_or(0);
        let max = nums.next().flatten().unwrap_or(32767);
        let (lo, hi) = if min <= max { (min, max) } else { (max, min) };
        // xorshift64: any pseudo-random value will do.
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        match (hi - lo).checked_add(1) {
            Some(span) => lo + self.rng % span,
            None => self.rng,
        }
    }

    /// `~SEQ(var, [start, [step,]] end)`, `~SEQx(...)` and
    /// `~LST(var | {v1, v2}, values...)`: run the rest of the line once per
    /// value. False if the line is not a generator after all.
    fn generate(&mut self, src: &Source, line: &Line, lineno: u32, depth: u32) -> bool {
        let b = &line.bytes;
        let (kind, open) = if b.starts_with(b"~SEQx(") {
            (Gen::SeqHex, 6)
        } else if b.starts_with(b"~SEQ(") {
            (Gen::Seq, 5)
        } else if b.starts_with(b"~LST(") {
            (Gen::List, 5)
        } else {
            return false;
        };
        let loc = src.loc(lineno, line.cols.first().copied().unwrap_or(1));
        let Some(close) = b[open..].iter().position(|&c| c == b')').map(|p| open + p) else {
            self.report(Diagnostic::error(Some(loc), "generator without a closing ')'; line ignored"));
            return true;
        };
        let args = String::from_utf8_lossy(&b[open..close]).into_owned();
        let body = line.tail(close + 1).trim_start();
        let parsed = match kind {
            Gen::Seq | Gen::SeqHex => parse_seq(&args, kind == Gen::SeqHex),
            Gen::List => parse_list(&args),
        };
        let values = match parsed {
            Ok(v) => v,
            Err(msg) => {
                self.report(Diagnostic::error(Some(loc), format!("{msg}; line ignored")));
                return true;
            }
        };
        let saved: Vec<Option<String>> = values.vars.iter().map(|v| self.params.get(v).cloned()).collect();
        let mut row = 0;
        while let Some(vals) = values.row(row) {
            if self.stopped || !self.charge(LINE_COST, &loc) {
                break;
            }
            for (var, val) in values.vars.iter().zip(vals) {
                self.params.insert(var.clone(), val);
            }
            self.line(src, body.clone(), lineno, depth + 1);
            row += 1;
        }
        // keepalived does not promise the variable after the block; restore.
        for (var, old) in values.vars.iter().zip(saved) {
            match old {
                Some(v) => self.params.insert(var.clone(), v),
                None => self.params.remove(var),
            };
        }
        true
    }

    /// Lex a substituted line and either follow an `include` or keep the tokens.
    fn emit(&mut self, src: &Source, text: &[u8], cols: lexer::Columns, lineno: u32) {
        if let Some(strict) = include_keyword(text) {
            let words = lexer::lex_words(text, cols, &src.name, lineno, &mut self.diags);
            let loc = words.first().map_or_else(|| src.loc(lineno, 1), |t| t.loc.clone());
            let patterns: Vec<(String, Loc)> = words
                .iter()
                .skip(1)
                .filter_map(|t| t.word().map(|w| (w.to_string(), t.loc.clone())))
                .collect();
            if patterns.is_empty() {
                self.report(Diagnostic::error(Some(loc), "include without a file name"));
            }
            for (pattern, ploc) in patterns {
                self.include(src, &pattern, strict, &ploc);
                if self.stopped {
                    break;
                }
            }
            return;
        }
        let before = self.tokens.len();
        lexer::lex_line_into(&mut self.tokens, text, cols, &src.name, lineno, &mut self.diags);
        if self.tokens.len() > self.limits.tokens {
            // The line is not kept: the stream ends before it.
            let loc = self.tokens[before].loc.clone();
            self.tokens.truncate(before);
            let msg =
                format!("configuration has more than {} tokens; stopped reading it", self.limits.tokens);
            self.stop(&loc, &msg);
        }
    }

    /// Read every file a pattern matches, in glob order.
    fn include(&mut self, src: &Source, pattern: &str, strict: bool, loc: &Loc) {
        let severity = if strict { Severity::Error } else { Severity::Warning };
        let files = self.files.glob(&src.dir, pattern);
        if files.is_empty() {
            self.report(finding(severity, loc, format!("include {pattern}: no file matches")));
        }
        for path in files {
            if self.stopped {
                return;
            }
            if self.open_files.len() >= MAX_INCLUDE_DEPTH {
                self.report(Diagnostic::error(
                    Some(loc.clone()),
                    format!("includes nested more than {MAX_INCLUDE_DEPTH} deep; {} skipped", path.display()),
                ));
                return;
            }
            let file = self.files.read(&path);
            let canon = file.canonical;
            if self.open_files.contains(&canon) {
                self.report(
                    Diagnostic::error(
                        Some(loc.clone()),
                        format!("include cycle: {} is already being read; skipped", path.display()),
                    )
                    .with_hint("remove the include that leads back to this file"),
                );
                continue;
            }
            let bytes = match file.bytes {
                Ok(b) => b,
                Err(e) => {
                    let msg = format!("include: cannot read {}: {e}", path.display());
                    self.report(finding(severity, loc, msg));
                    continue;
                }
            };
            let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
            let inner = Source::new(Rc::from(path.to_string_lossy().as_ref()), dir);
            self.open_files.push(canon);
            self.run(&inner, &bytes);
            self.open_files.pop();
        }
    }
}

fn finding(severity: Severity, loc: &Loc, message: String) -> Diagnostic {
    match severity {
        Severity::Error => Diagnostic::error(Some(loc.clone()), message),
        Severity::Warning => Diagnostic::warning(Some(loc.clone()), message),
    }
}

fn trim(b: &[u8]) -> &[u8] {
    let start = b.iter().position(|&c| !lexer::is_space(c)).unwrap_or(b.len());
    let end = b.iter().rposition(|&c| !lexer::is_space(c)).map_or(start, |p| p + 1);
    &b[start..end.max(start)]
}

/// A physical line no step before lexing changes: no `$` (parameters,
/// definitions), no leading `@` (conditions) or `~` (generators), and not
/// longer than a substituted line may be.
fn is_plain(text: &[u8]) -> bool {
    let first = text.iter().find(|&&b| !lexer::is_space(b));
    text.len() <= MAX_LINE_BYTES && !matches!(first, Some(b'@' | b'~')) && !text.contains(&b'$')
}

fn ends_with_backslash(b: &[u8]) -> bool {
    trim(b).last() == Some(&b'\\')
}

fn is_name_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

fn is_name_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// `$NAME=value` (no space before `=`): the name and the raw value.
fn definition(b: &[u8]) -> Option<(String, &[u8])> {
    if b.first() != Some(&b'$') || !b.get(1).is_some_and(|&c| is_name_start(c)) {
        return None;
    }
    let len = b[1..].iter().take_while(|&&c| is_name_char(c)).count();
    if b.get(1 + len) != Some(&b'=') {
        return None;
    }
    Some((String::from_utf8_lossy(&b[1..1 + len]).into_owned(), &b[2 + len..]))
}

/// Whether a physical line is a definition, possibly behind `@id` prefixes
/// (which decide later whether it applies).
fn is_definition_line(text: &[u8]) -> bool {
    let mut rest = trim(text);
    while rest.first() == Some(&b'@') {
        let end = rest.iter().position(|&b| lexer::is_space(b)).unwrap_or(rest.len());
        rest = trim(&rest[end..]);
    }
    definition(rest).is_some()
}

/// Whether a finding is an `include` that found no file or could not read one.
pub fn is_missing_include(message: &str) -> bool {
    (message.starts_with("include ") && message.ends_with(": no file matches"))
        || message.starts_with("include: cannot read ")
}

/// `include` and its variants: `Some(strict)`, where strict variants make a
/// missing or unreadable file an error instead of a warning.
fn include_keyword(line: &[u8]) -> Option<bool> {
    let end = line.iter().position(|&b| lexer::is_space(b)).unwrap_or(line.len());
    match &line[..end] {
        b"include" => Some(false),
        b"includer" | b"includem" | b"includew" | b"includeb" | b"includea" => Some(true),
        _ => None,
    }
}

/// A `$NAME` or `${NAME args}` reference.
struct Reference {
    name: String,
    args: String,
    /// Index just past the reference.
    end: usize,
    braced: bool,
    /// Followed by whitespace or the end of the text: only then does
    /// keepalived substitute the unbraced form.
    spaced: bool,
}

fn reference(text: &[u8], i: usize, last_close: Option<usize>) -> Option<Reference> {
    if text.get(i + 1) == Some(&b'{') {
        // Name and the byte after it first, then the search for `}` (only
        // if there is one after `i`): a run of `${` that cannot be
        // references costs one step each, not a search to the line's end.
        let body = text.get(i + 2..)?;
        let len = body.iter().take_while(|&&c| is_name_char(c)).count();
        if !body.first().is_some_and(|&c| is_name_start(c))
            || !body.get(len).is_some_and(|&c| c == b'}' || lexer::is_space(c))
            || last_close.is_none_or(|c| c < i + 2 + len)
        {
            return None;
        }
        let close = i + 2 + len + body[len..].iter().position(|&b| b == b'}')?;
        let (name, args) = (&body[..len], &text[i + 2 + len..close]);
        return Some(Reference {
            name: String::from_utf8_lossy(name).into_owned(),
            args: String::from_utf8_lossy(args).trim().to_string(),
            end: close + 1,
            braced: true,
            spaced: true,
        });
    }
    if !text.get(i + 1).is_some_and(|&c| is_name_start(c)) {
        return None;
    }
    let len = text[i + 1..].iter().take_while(|&&c| is_name_char(c)).count();
    let end = i + 1 + len;
    Some(Reference {
        name: String::from_utf8_lossy(&text[i + 1..end]).into_owned(),
        args: String::new(),
        end,
        braced: false,
        spaced: text.get(end).is_none_or(|&c| lexer::is_space(c)),
    })
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Gen {
    Seq,
    SeqHex,
    List,
}

/// The variables of a generator and the values they take, row by row.
struct Values {
    vars: Vec<String>,
    rows: Rows,
}

enum Rows {
    Seq { start: i64, step: i64, end: i64, hex: bool },
    List(Vec<Vec<String>>),
}

impl Values {
    fn row(&self, n: usize) -> Option<Vec<String>> {
        match &self.rows {
            Rows::List(rows) => rows.get(n).cloned(),
            Rows::Seq { start, step, end, hex } => {
                let v = i64::try_from(n).ok()?.checked_mul(*step)?.checked_add(*start)?;
                if (*step > 0 && v > *end) || (*step < 0 && v < *end) {
                    return None;
                }
                let text = match (hex, v < 0) {
                    (false, _) => v.to_string(),
                    (true, false) => format!("{v:x}"),
                    (true, true) => format!("-{:x}", v.unsigned_abs()),
                };
                Some(vec![text])
            }
        }
    }
}

fn parse_int(s: &str) -> Option<i64> {
    let s = s.trim();
    let (neg, digits) = match s.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, s),
    };
    let v = match digits.strip_prefix("0x").or_else(|| digits.strip_prefix("0X")) {
        Some(h) => i64::from_str_radix(h, 16).ok()?,
        None => digits.parse::<i64>().ok()?,
    };
    Some(if neg { -v } else { v })
}

fn parse_var(s: &str) -> Result<String, String> {
    let s = s.trim();
    let b = s.as_bytes();
    if b.first().is_some_and(|&c| is_name_start(c)) && b.iter().all(|&c| is_name_char(c)) {
        Ok(s.to_string())
    } else {
        Err(format!("`{s}` is not a valid variable name"))
    }
}

fn parse_seq(args: &str, hex: bool) -> Result<Values, String> {
    let parts: Vec<&str> = args.split(',').collect();
    let var = parse_var(parts[0])?;
    let nums = parts[1..]
        .iter()
        .map(|p| parse_int(p).ok_or_else(|| format!("~SEQ: `{}` is not a number", p.trim())))
        .collect::<Result<Vec<i64>, String>>()?;
    let dir = |from: i64, to: i64| if to >= from { 1 } else { -1 };
    let (start, step, end) = match nums[..] {
        [end] => {
            let start = end.signum();
            (start, dir(start, end), end)
        }
        [start, end] => (start, dir(start, end), end),
        [start, step, end] => (start, step, end),
        _ => return Err("~SEQ takes a variable and 1 to 3 numbers".to_string()),
    };
    if step == 0 {
        return Err("~SEQ step must not be 0".to_string());
    }
    Ok(Values { vars: vec![var], rows: Rows::Seq { start, step, end, hex } })
}

/// Split at commas outside `{...}`.
fn split_top(s: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0i32, 0);
    for (i, c) in s.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    parts
}

/// `{a, b}` to `[a, b]`; a bare item to `[item]`.
fn group(s: &str) -> Vec<String> {
    let s = s.trim();
    match s.strip_prefix('{').and_then(|r| r.strip_suffix('}')) {
        Some(inner) => inner.split(',').map(|v| v.trim().to_string()).collect(),
        None => vec![s.to_string()],
    }
}

fn parse_list(args: &str) -> Result<Values, String> {
    let parts = split_top(args);
    let vars = group(parts[0]).iter().map(|v| parse_var(v)).collect::<Result<Vec<_>, _>>()?;
    let rows: Vec<Vec<String>> = parts[1..].iter().map(|p| group(p)).collect();
    if rows.is_empty() {
        return Err("~LST needs at least one value".to_string());
    }
    if let Some(bad) = rows.iter().find(|r| r.len() != vars.len()) {
        return Err(format!("~LST: {} values given for {} variables", bad.len(), vars.len()));
    }
    Ok(Values { vars, rows: Rows::List(rows) })
}

/// The files a glob matches, like glob(3) with GLOB_BRACE: brace
/// alternatives in order, the matches of each sorted. Relative patterns
/// start at `base`.
fn glob(base: &Path, pattern: &str) -> Vec<PathBuf> {
    let mut patterns = Vec::new();
    brace_expand(pattern, &mut patterns, 0);
    let mut budget = MAX_GLOB_ENTRIES;
    let mut out = Vec::new();
    for pat in patterns {
        let (root, rest) = match pat.strip_prefix('/') {
            Some(rest) => (PathBuf::from("/"), rest),
            None => (base.to_path_buf(), pat.as_str()),
        };
        let comps: Vec<&str> = rest.split('/').filter(|c| !c.is_empty() && *c != ".").collect();
        if comps.len() > MAX_GLOB_COMPONENTS {
            continue;
        }
        let mut found = Vec::new();
        walk(&root, &comps, &mut found, &mut budget);
        found.sort();
        out.extend(found);
    }
    out
}

fn walk(dir: &Path, comps: &[&str], found: &mut Vec<PathBuf>, budget: &mut usize) {
    let Some((first, rest)) = comps.split_first() else {
        if fs::symlink_metadata(dir).is_ok() {
            found.push(dir.to_path_buf());
        }
        return;
    };
    if !first.bytes().any(|b| matches!(b, b'*' | b'?' | b'[')) {
        let next = dir.join(unescape_glob(first));
        if fs::symlink_metadata(&next).is_ok() {
            walk(&next, rest, found, budget);
        }
        return;
    }
    let listing = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
    let Ok(entries) = fs::read_dir(listing) else { return };
    let mut names = Vec::new();
    for entry in entries.flatten() {
        if *budget == 0 {
            return;
        }
        *budget -= 1;
        names.push(entry.file_name());
    }
    names.sort();
    for name in names {
        if fnmatch(first.as_bytes(), name.as_encoded_bytes()) {
            walk(&dir.join(&name), rest, found, budget);
        }
    }
}

fn unescape_glob(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.extend(chars.next()),
            c => out.push(c),
        }
    }
    out
}

/// csh-style `{a,b}` expansion, alternatives in order, at most
/// `MAX_GLOB_PATTERNS` results. Braces nested or chained beyond
/// `MAX_BRACE_DEPTH` stay literal.
fn brace_expand(pattern: &str, out: &mut Vec<String>, depth: usize) {
    if out.len() >= MAX_GLOB_PATTERNS {
        return;
    }
    if depth >= MAX_BRACE_DEPTH {
        out.push(pattern.to_string());
        return;
    }
    let b = pattern.as_bytes();
    let Some(open) = b.iter().position(|&c| c == b'{') else {
        out.push(pattern.to_string());
        return;
    };
    let mut nesting = 0;
    let mut commas = Vec::new();
    let mut close = None;
    for (i, &c) in b.iter().enumerate().skip(open) {
        match c {
            b'{' => nesting += 1,
            b'}' => {
                nesting -= 1;
                if nesting == 0 {
                    close = Some(i);
                    break;
                }
            }
            b',' if nesting == 1 => commas.push(i),
            _ => {}
        }
    }
    // An unclosed brace, or `{}`, is literal text (and so is everything after it).
    let Some(close) = close.filter(|&c| c > open + 1) else {
        out.push(pattern.to_string());
        return;
    };
    let (prefix, suffix) = (&pattern[..open], &pattern[close + 1..]);
    let mut start = open + 1;
    for end in commas.into_iter().chain(std::iter::once(close)) {
        brace_expand(&format!("{prefix}{}{suffix}", &pattern[start..end]), out, depth + 1);
        start = end + 1;
    }
}

/// fnmatch(3) for one path component: `*`, `?`, `[...]` (with `!`/`^` and
/// ranges) and `\` escapes. A leading `.` must be matched literally.
fn fnmatch(p: &[u8], s: &[u8]) -> bool {
    if s.first() == Some(&b'.') && p.first() != Some(&b'.') {
        return false;
    }
    let (mut pi, mut si) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        if p.get(pi) == Some(&b'*') {
            star = Some((pi + 1, si));
            pi += 1;
            continue;
        }
        if let Some(next) = match_one(p, pi, s[si]) {
            pi = next;
            si += 1;
            continue;
        }
        match star {
            Some((sp, ss)) => {
                pi = sp;
                si = ss + 1;
                star = Some((sp, ss + 1));
            }
            None => return false,
        }
    }
    p[pi.min(p.len())..].iter().all(|&c| c == b'*')
}

/// If the pattern element at `pi` matches `c`, the index after it.
fn match_one(p: &[u8], pi: usize, c: u8) -> Option<usize> {
    match *p.get(pi)? {
        b'?' => Some(pi + 1),
        b'\\' if pi + 1 < p.len() => (p[pi + 1] == c).then_some(pi + 2),
        b'[' => match class(p, pi, c) {
            Some((hit, next)) => hit.then_some(next),
            None => (c == b'[').then_some(pi + 1),
        },
        lit => (lit == c).then_some(pi + 1),
    }
}

/// A `[...]` class at `pi`: whether `c` is in it and the index after it, or
/// `None` when the class is not closed (then `[` is literal).
fn class(p: &[u8], pi: usize, c: u8) -> Option<(bool, usize)> {
    let mut i = pi + 1;
    let negate = matches!(p.get(i), Some(b'!' | b'^'));
    if negate {
        i += 1;
    }
    let mut hit = false;
    let mut first = true;
    loop {
        let lo = *p.get(i)?;
        if lo == b']' && !first {
            return Some((hit != negate, i + 1));
        }
        first = false;
        if p.get(i + 1) == Some(&b'-') && p.get(i + 2).is_some_and(|&h| h != b']') {
            let hi = p[i + 2];
            hit |= lo <= c && c <= hi;
            i += 3;
        } else {
            hit |= lo == c;
            i += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::token::TokenKind;

    fn pre(src: &str) -> (Vec<Token>, Vec<Diagnostic>) {
        preprocess_bytes(
            "t.conf",
            src.as_bytes(),
            Path::new("/nonexistent-vigil"),
            &LoadOptions::with_id("main"),
        )
    }

    /// The token stream as text: words, `{`, `}`, and `;` for line ends.
    fn show(toks: &[Token]) -> String {
        let parts: Vec<String> = toks
            .iter()
            .map(|t| match &t.kind {
                TokenKind::Word(w) => w.clone(),
                TokenKind::Open => "{".into(),
                TokenKind::Close => "}".into(),
                TokenKind::Eol => ";".into(),
            })
            .collect();
        parts.join(" ")
    }

    fn text(src: &str) -> String {
        show(&pre(src).0)
    }

    /// Lines `is_plain` lets `run` lex straight from the file give the
    /// tokens, places and findings every step of `line` gives them: the
    /// repository's configurations and fuzz seeds, and lines made to probe
    /// the edges (quotes, comments, glued braces, tabs and CR, include).
    #[test]
    fn plain_lines_lex_as_every_step_would() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files: Vec<Vec<u8>> = Vec::new();
        for dir in ["conf", "fuzz/corpus/config_load"] {
            for e in fs::read_dir(root.join(dir)).unwrap().flatten() {
                files.push(fs::read(e.path()).unwrap());
            }
        }
        files.push(
            b"  a 'b c'\"d\\\"e\" f#g\n\tx{y}z ! c\r\n\x0b\x0cw \"un\n}}{{\n include /nonexistent-vigil/*.conf\n\
              k \xff\xfe \"\xc3\x28\"\n   \n\n#c\nq 'open"
                .to_vec(),
        );
        let src = Source::new(Rc::from("t.conf"), PathBuf::from("/nonexistent-vigil"));
        let mut plain = 0;
        for bytes in &files {
            for (n, text) in lexer::lines(bytes).enumerate().filter(|(_, t)| is_plain(t)) {
                let lineno = n as u32 + 1;
                let main_opts = LoadOptions::with_id("main");
                let (mut fast, mut slow) = (Preprocessor::new(&main_opts), Preprocessor::new(&main_opts));
                fast.plain_line(&src, text, lineno);
                slow.line(&src, Line::from_source(text), lineno, 0);
                assert_eq!(fast.tokens, slow.tokens, "{:?}", String::from_utf8_lossy(text));
                assert_eq!(fast.diags, slow.diags, "{:?}", String::from_utf8_lossy(text));
                assert_eq!(fast.work, slow.work);
                plain += 1;
            }
        }
        assert!(plain > 1000, "only {plain} plain lines seen");
    }

    /// A scratch directory, removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(tag: &str) -> TempDir {
            let p = std::env::temp_dir().join(format!("vigil-pre-{}-{tag}", std::process::id()));
            let _ = fs::remove_dir_all(&p);
            fs::create_dir_all(&p).expect("create temp dir");
            TempDir(p)
        }

        fn write(&self, name: &str, body: &str) {
            let path = self.0.join(name);
            if let Some(parent) = path.parent() {
                fs::create_dir_all(parent).expect("mkdir");
            }
            fs::write(path, body).expect("write");
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn plain_lines_pass_through() {
        assert_eq!(
            text("vrrp_instance VI_1{\n  virtual_ipaddress { 10.0.0.1/24 } # c\n}}\n"),
            "vrrp_instance VI_1 { ; virtual_ipaddress { 10.0.0.1/24 } ; } } ;"
        );
    }

    #[test]
    fn parameters_plain_braced_and_recursive() {
        let src =
            "$IF=eth0\n$BASE=10.2.${SUB}\n$SUB=0\ninterface $IF\n${BASE}.100/32\n$SUB=10\n${BASE}.100/32\n";
        let (toks, diags) = pre(src);
        assert!(diags.is_empty(), "{diags:?}");
        assert_eq!(show(&toks), "interface eth0 ; 10.2.0.100/32 ; 10.2.10.100/32 ;");
        // The substituted word has the column of the `$`.
        assert_eq!((toks[1].loc.line, toks[1].loc.col), (4, 11));
    }

    #[test]
    fn value_comments_are_dropped_and_empty_values_allowed() {
        assert_eq!(text("$A=x y # note\n$E=\nk $A $E z\n"), "k x y z ;");
    }

    #[test]
    fn undefined_and_unspaced_references_stay_with_a_warning() {
        let (toks, diags) = pre("$IF=eth0\na $NOPE ${NOPE2} $IF.1 \"$HOME\"\n");
        assert_eq!(show(&toks), "a $NOPE ${NOPE2} $IF.1 $HOME ;");
        let warnings: Vec<&str> = diags.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(warnings.len(), 3, "{warnings:?}");
        assert!(diags.iter().all(|d| !d.is_error()));
        assert!(warnings[2].contains("not followed by a space"));
        assert_eq!(diags[2].hint.as_deref(), Some("write ${IF}"));
    }

    #[test]
    fn self_reference_is_caught() {
        let (toks, diags) = pre("$A=x $A\n$B=$C\n$C=${B}\nk $A $B\n");
        assert_eq!(show(&toks), "k x $A ${B} ;");
        assert_eq!(diags.iter().filter(|d| d.is_error()).count(), 2, "{diags:?}");
    }

    #[test]
    fn multiline_parameter_expands_to_lines() {
        let src = "$INST= \\\n  vrrp_instance VI_${NUM} { \\\n    @main priority 130 \\\n    @backup priority 120 \\\n  }\n$NUM=0\n$INST\n$NUM=1\n$INST\n";
        let (toks, diags) = pre(src);
        assert!(diags.is_empty(), "{diags:?}");
        assert_eq!(
            show(&toks),
            "vrrp_instance VI_0 { ; priority 130 ; } ; vrrp_instance VI_1 { ; priority 130 ; } ;"
        );
        // Every line of the value is located at the line that used it.
        assert!(toks[..9].iter().all(|t| t.loc.line == 7));
        assert!(toks[9..].iter().all(|t| t.loc.line == 9));
    }

    #[test]
    fn nested_multiline_definitions() {
        let src = "$RS= \\\n real_server 10.0.${VS}.${RN} 80 { \\\n }\n$VS_BODY= \\\n virtual_server 10.0.${VS}.4 80 { \\\n $RN=1 \\\n $RS \\\n $RN=2 \\\n $RS \\\n }\n$VS=7\n$VS_BODY\n";
        assert_eq!(
            text(src),
            "virtual_server 10.0.7.4 80 { ; real_server 10.0.7.1 80 { ; } ; real_server 10.0.7.2 80 { ; } ; } ;"
        );
    }

    #[test]
    fn multiline_value_inside_a_line_keeps_the_rest() {
        assert_eq!(text("$M=a \\\nb\nx $M y\n"), "x a ; b y ;");
    }

    #[test]
    fn predefined_parameters() {
        let (toks, diags) = pre("$T=${_HASH}\n$T commented out\nk ${_INSTANCE} \"${_HASH}\" \"${_BANG}\" ${_PWD}\nr ${_RANDOM 5 5} ${_RANDOM}\n");
        assert!(diags.is_empty(), "{diags:?}");
        let words: Vec<&str> = toks.iter().filter_map(Token::word).collect();
        assert_eq!(words[..5], ["k", "main", "#", "!", "/nonexistent-vigil"]);
        assert_eq!(words[6], "5");
        assert!(words[7].parse::<u32>().is_ok_and(|v| v <= 32767));
    }

    #[test]
    fn conditional_lines() {
        let src = "@main router_id a\n@backup router_id b\n@^main peer 1\n@^backup peer 2\n@main\t@^x both\n";
        assert_eq!(text(src), "router_id a ; peer 2 ; both ;");
        // Conditional definitions, and a condition coming from a value.
        let src = "$P=1\n@main $P=240\n@backup $P=200\npriority $P\n$ONLY=@backup\n$ONLY skipped\n";
        assert_eq!(text(src), "priority 240 ;");
        // A skipped conditional definition skips its continuation lines too.
        assert_eq!(text("@backup $X=a \\\n b\nk\n"), "k ;");
    }

    #[test]
    fn conditional_columns_point_at_the_kept_text() {
        let (toks, _) = pre("  @main priority 5\n");
        assert_eq!((toks[0].loc.line, toks[0].loc.col), (1, 9));
    }

    #[test]
    fn sequence_and_list_generators() {
        assert_eq!(text("~SEQ(S, 0, 2) ip 10.0.${S}.1\n"), "ip 10.0.0.1 ; ip 10.0.1.1 ; ip 10.0.2.1 ;");
        assert_eq!(text("~SEQx(H, 0x90, 0x10, 0xb0) a ${H}\n"), "a 90 ; a a0 ; a b0 ;");
        assert_eq!(text("~SEQ(D, 3) a $D\n~SEQ(N, 2, -1, 1) b $N\n"), "a 1 ; a 2 ; a 3 ; b 2 ; b 1 ;");
        assert_eq!(
            text("~LST({A, B}, {10,1},{20,4}) ~SEQ(C,1,2) x ${A}.${B}.${C}\n"),
            "x 10.1.1 ; x 10.1.2 ; x 20.4.1 ; x 20.4.2 ;"
        );
        let (toks, diags) = pre("~SEQ(X, 1, 0, 5) a\n~LST(X) b\n~SEQ(X, 1\n");
        assert!(toks.is_empty());
        assert_eq!(diags.iter().filter(|d| d.is_error()).count(), 3);
        // A huge sequence with an empty body ends on the work budget.
        let (_, diags) = pre("~SEQ(X, 0, 9000000000000000000) \n");
        assert!(diags.iter().any(|d| d.is_error() && d.message.contains("too much")));
    }

    #[test]
    fn self_referring_continued_definitions_stop_after_1000_problems() {
        // Found by the config_load fuzzer (a 510-byte input ran for over a
        // minute): each spliced line reports the self-reference again.
        let (_, diags) = pre("$A=${A}\\\n${A}\\\n${A}\n${A}\n${A}\n${A}\n");
        assert!(diags.len() <= 1001, "{}", diags.len());
        assert!(diags.last().is_some_and(|d| d.is_error() && d.message.contains("more than 1,000 problems")));
    }

    #[test]
    fn include_glob_braces_and_sorting() {
        let dir = TempDir::new("glob");
        dir.write("main.conf", "top 1\ninclude conf.d/*.conf\ninclude sub/{x,w}.inc\ntop 2\n");
        dir.write("conf.d/b.conf", "b ${_PWD}\n");
        dir.write("conf.d/a.conf", "a\n");
        dir.write("conf.d/.hidden.conf", "hidden\n");
        dir.write("conf.d/c.txt", "txt\n");
        // Relative to the including file's own directory.
        dir.write("sub/x.inc", "include ../conf.d/[a]?conf\n");
        dir.write("sub/w.inc", "w {\n");
        let main = dir.0.join("main.conf");
        let (toks, diags) = preprocess_file(&main, &LoadOptions::with_id("main"));
        assert!(diags.is_empty(), "{diags:?}");
        let pwd = fs::canonicalize(dir.0.join("conf.d")).expect("canon");
        assert_eq!(show(&toks), format!("top 1 ; a ; b {} ; a ; w {{ ; top 2 ;", pwd.display()));
        // Included tokens carry the resolved path of their file.
        let a = toks.iter().find(|t| t.word() == Some("a")).expect("a");
        assert_eq!(&*a.loc.file, dir.0.join("conf.d/a.conf").to_string_lossy());
        assert_eq!(&*toks[0].loc.file, main.to_string_lossy());
        assert!(toks.iter().all(|t| t.word() != Some("hidden")));
    }

    #[test]
    fn missing_includes_warn_or_fail() {
        let dir = TempDir::new("missing");
        let src = "include nope/*.conf\nincluder none.conf\nk\n";
        let (toks, diags) = preprocess_bytes("m.conf", src.as_bytes(), &dir.0, &LoadOptions::with_id("id"));
        assert_eq!(show(&toks), "k ;");
        assert_eq!(diags.len(), 2);
        assert_eq!(diags[0].severity, Severity::Warning);
        assert_eq!(diags[1].severity, Severity::Error);
        assert_eq!(diags[1].loc.as_ref().map(|l| (l.line, l.col)), Some((2, 10)));
        assert!(diags.iter().all(|d| is_missing_include(&d.message)));
    }

    #[test]
    fn include_cycle_is_an_error() {
        let dir = TempDir::new("cycle");
        dir.write("a.conf", "a1\ninclude b.conf\na2\n");
        dir.write("b.conf", "b1\ninclude a.conf\ninclude b.conf\nb2\n");
        let (toks, diags) = preprocess_file(&dir.0.join("a.conf"), &LoadOptions::with_id("id"));
        assert_eq!(show(&toks), "a1 ; b1 ; b2 ; a2 ;");
        assert_eq!(diags.iter().filter(|d| d.is_error() && d.message.contains("cycle")).count(), 2);
    }

    #[test]
    fn include_depth_is_bounded() {
        // Distinct files, so no cycle: d0 includes d1 includes ... d40.
        let dir = TempDir::new("depth");
        for n in 0..40 {
            dir.write(&format!("d{n}.conf"), &format!("l{n}\ninclude d{}.conf\n", n + 1));
        }
        let (toks, diags) = preprocess_file(&dir.0.join("d0.conf"), &LoadOptions::with_id("id"));
        assert_eq!(toks.iter().filter(|t| t.word().is_some()).count(), MAX_INCLUDE_DEPTH);
        assert!(diags.iter().any(|d| d.is_error() && d.message.contains("nested")));
    }

    #[test]
    fn missing_top_level_file() {
        let (toks, diags) =
            preprocess_file(Path::new("/nonexistent-vigil/keepalived.conf"), &LoadOptions::with_id("id"));
        assert!(toks.is_empty());
        assert_eq!(diags.len(), 1);
        assert!(diags[0].is_error() && diags[0].loc.is_none());
    }

    #[test]
    fn crlf_and_shift_jis() {
        let src = b"! \x89\xbc\x91\x7a\r\nglobal_defs {\r\n  router_id \x82\xa0 # \x82\xa2\r\n}\r\n";
        let (toks, diags) = preprocess_bytes("s.conf", src, Path::new("/"), &LoadOptions::with_id("id"));
        assert!(diags.is_empty());
        assert_eq!(show(&toks), "global_defs { ; router_id \u{fffd}\u{fffd} ; } ;");
        assert_eq!((toks[3].loc.line, toks[3].loc.col), (3, 3));
    }

    #[test]
    fn parameter_bomb_is_bounded() {
        let mut src = String::from("$A0=xxxxxxxxxxxxxxxx\n");
        for n in 1..40 {
            let p = n - 1;
            src.push_str(&format!("$A{n}=${{A{p}}} ${{A{p}}} ${{A{p}}} ${{A{p}}}\n"));
        }
        src.push_str("k $A39\n");
        let start = std::time::Instant::now();
        let (toks, diags) = pre(&src);
        assert!(toks.len() <= Limits::PRODUCTION.tokens);
        assert!(diags.iter().any(Diagnostic::is_error));
        assert!(start.elapsed() < std::time::Duration::from_secs(20));
        // Lines that expand to many lines each still stop at the token bound.
        let (toks, diags) = pre("$L=a b c \\\nd e f\n~SEQ(I, 1, 10000000) $L\n");
        assert!(toks.len() <= Limits::PRODUCTION.tokens);
        assert!(diags.iter().any(Diagnostic::is_error));
    }

    #[test]
    fn long_parameter_chains_stop_without_overflowing() {
        let mut src = String::from("$P0=end\n");
        for n in 1..20_000 {
            src.push_str(&format!("$P{n}=${{P{}}}\n", n - 1));
        }
        src.push_str("k ${P19999}\nk ${P10}\n");
        let (toks, diags) = pre(&src);
        assert_eq!(show(&toks), "k end ;");
        assert!(diags.iter().any(|d| d.is_error() && d.message.contains("nested")));
    }

    #[test]
    fn generator_repeating_a_large_value_is_bounded() {
        let src = format!("$BIG={}\n~SEQ(I, 1, 100000000) $BIG\n", "x".repeat(1 << 20));
        let start = std::time::Instant::now();
        let (toks, diags) = pre(&src);
        assert!(diags.iter().any(|d| d.is_error() && d.message.contains("too much")));
        assert!(toks.len() < 200);
        assert!(start.elapsed() < std::time::Duration::from_secs(20));
    }

    #[test]
    fn glob_matching() {
        assert!(fnmatch(b"*.conf", b"a.conf"));
        assert!(!fnmatch(b"*.conf", b".a.conf"));
        assert!(fnmatch(b".*", b".a"));
        assert!(fnmatch(b"a?c", b"abc"));
        assert!(fnmatch(b"[a-c]x", b"bx"));
        assert!(!fnmatch(b"[!a-c]x", b"bx"));
        assert!(fnmatch(b"[]]", b"]"));
        assert!(fnmatch(b"[x", b"[x"));
        assert!(fnmatch(b"\\*", b"*"));
        assert!(!fnmatch(b"\\*", b"a"));
        assert!(fnmatch(b"*a*b*", b"xxaxxbxx"));
        assert!(!fnmatch(b"*a*b", b"xxaxxbxx"));
        let mut out = Vec::new();
        brace_expand("{foo/{,cat,dog},bar}.c", &mut out, 0);
        assert_eq!(out, ["foo/.c", "foo/cat.c", "foo/dog.c", "bar.c"]);
        let mut out = Vec::new();
        brace_expand("a{}b{c", &mut out, 0);
        assert_eq!(out, ["a{}b{c"]);
        let mut out = Vec::new();
        brace_expand(&"{a,b}".repeat(20), &mut out, 0);
        assert_eq!(out.len(), MAX_GLOB_PATTERNS);
        let mut out = Vec::new();
        brace_expand(&"{a}".repeat(100_000), &mut out, 0);
        assert_eq!(out.len(), 1);
        assert!(glob(Path::new("/"), &"../".repeat(100_000)).is_empty());
    }

    /// xorshift64, enough to drive the property test.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    #[test]
    fn random_bytes_never_panic_or_hang() {
        const FRAGMENTS: &[&str] = &[
            "{",
            "}",
            "$A=",
            "$B=",
            "$A",
            "$B",
            "${",
            "${A}",
            "@x ",
            "@^x ",
            "include ",
            "includea ",
            "\"",
            "'",
            "\\\n",
            "\\",
            "!",
            "#",
            "\n",
            " ",
            "\r\n",
            "~SEQ(A,1,3)",
            "~LST({A,B},{1,2})",
            "*",
            "{a,b}",
        ];
        let dir = TempDir::new("prop");
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let start = std::time::Instant::now();
        for _ in 0..20_000 {
            let len = (rng.next() % 40) as usize;
            let mut bytes = Vec::new();
            for _ in 0..len {
                let r = rng.next();
                if r & 1 == 0 {
                    bytes.push((r >> 8) as u8);
                } else {
                    bytes.extend_from_slice(FRAGMENTS[(r >> 8) as usize % FRAGMENTS.len()].as_bytes());
                }
            }
            let (toks, _) = preprocess_bytes("p.conf", &bytes, &dir.0, &LoadOptions::with_id("x"));
            assert!(toks.len() <= Limits::PRODUCTION.tokens);
            assert!(toks.is_empty() || toks.last().map(|t| &t.kind) == Some(&TokenKind::Eol));
        }
        assert!(start.elapsed() < std::time::Duration::from_secs(60));
    }

    #[test]
    fn corpus_files_load() {
        // ../shared/conf-corpus beside the checkout: CI always has it, so its absence fails.
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/conf-corpus");
        assert!(root.join("README.md").exists(), "{} is absent: this test needs ../shared", root.display());
        let mut files = Vec::new();
        for dir in [root.clone(), root.join("wild")] {
            let entries = fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
            for e in entries.flatten() {
                let p = e.path();
                if p.extension().is_some_and(|x| x == "conf") {
                    files.push(p);
                }
            }
        }
        for path in &files {
            let (toks, _) = preprocess_file(path, &LoadOptions::with_id("main"));
            assert!(toks.iter().any(|t| t.word().is_some()), "{}: no tokens", path.display());
        }
        assert!(files.len() >= 80, "only {} corpus files under {}", files.len(), root.display());
    }
}
