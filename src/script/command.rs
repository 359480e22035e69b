//! A script command line: keepalived's one-string form split as a shell
//! would split it, whether it needs a real shell, and the program found
//! through PATH at configuration time (as keepalived does).

use std::fmt;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// The search path used when the daemon's environment has no PATH.
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The shell used for commands that need one.
pub const SHELL: &str = "/bin/sh";

/// First words that only a shell understands (or that behave differently
/// as a binary, like `[` and `test` in some shells' scripts).
const SHELL_WORDS: &[&str] = &[
    "[", "[[", "test", "exit", ".", ":", "source", "cd", "export", "set", "unset", "eval", "exec", "return",
    "read", "ulimit", "umask", "wait", "trap", "shift", "alias", "command", "type", "if", "for", "while",
    "until", "case", "!", "{", "function", "local", "let",
];

/// Characters that mean shell syntax when they appear outside quotes.
const SHELL_CHARS: &[char] = &['|', '&', ';', '<', '>', '(', ')', '$', '`', '*', '?', '[', '~', '\n'];

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Command {
    /// The text as configured; logged, and given to `/bin/sh -c`.
    pub text: String,
    /// The words after quote removal; `argv[0]` is the program as written.
    pub argv: Vec<String>,
    /// Run as `/bin/sh -c text` rather than a direct execve of `program`.
    pub shell: bool,
    /// The file that is executed: `argv[0]` (after `resolve`, its PATH
    /// match) or `/bin/sh` for shell commands.
    pub program: PathBuf,
    /// For a shell command whose first word is a plain program, that
    /// program as found by `resolve`; checked by script security too.
    pub script_file: Option<PathBuf>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CommandError {
    Empty,
    UnterminatedQuote(char),
    TrailingBackslash,
    /// A bare name that no PATH directory holds.
    NotFound {
        name: String,
        search_path: String,
    },
    /// The file exists but has no execute bit (or is not a regular file).
    NotExecutable {
        path: PathBuf,
        mode: u32,
    },
}

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CommandError::Empty => f.write_str("empty script command"),
            CommandError::UnterminatedQuote(q) => write!(f, "unterminated {q} quote in script command"),
            CommandError::TrailingBackslash => f.write_str("script command ends with a backslash"),
            CommandError::NotFound { name, search_path } => {
                if name.contains('/') {
                    write!(f, "script '{name}' not found")
                } else {
                    write!(f, "script '{name}' not found in PATH ({search_path})")
                }
            }
            CommandError::NotExecutable { path, mode } => {
                write!(f, "script '{}' is not executable (mode {:04o})", path.display(), mode & 0o7777)
            }
        }
    }
}

impl std::error::Error for CommandError {}

impl Command {
    /// Split `text` like a POSIX shell (single and double quotes, backslash
    /// escapes) and decide whether it needs one. Does not touch the file
    /// system; call `resolve` for that.
    pub fn parse(text: &str) -> Result<Command, CommandError> {
        let split = split(text)?;
        let Some(first) = split.words.first() else { return Err(CommandError::Empty) };
        let shell = split.shell_syntax
            || SHELL_WORDS.contains(&first.as_str())
            || (split.first_word_plain && first.contains('='));
        let program = if shell { PathBuf::from(SHELL) } else { PathBuf::from(first) };
        Ok(Command { text: text.to_string(), argv: split.words, shell, program, script_file: None })
    }

    /// keepalived's several-words form (`script /bin/check --fast`): each
    /// word is one argument unless it has shell syntax of its own.
    pub fn from_words<S: AsRef<str>>(words: &[S]) -> Result<Command, CommandError> {
        let mut text = String::new();
        for w in words {
            if !text.is_empty() {
                text.push(' ');
            }
            let w = w.as_ref();
            if w.is_empty() || w.chars().any(|c| c.is_whitespace() || c == '\'' || c == '"' || c == '\\') {
                text.push_str(&shell_quote(w));
            } else {
                text.push_str(w);
            }
        }
        Command::parse(&text)
    }

    /// Find the program through `search_path` (a PATH value) and check
    /// that it is executable. For shell commands `/bin/sh` is checked, and
    /// the first word too when it is a plain program name.
    pub fn resolve(&mut self, search_path: &str) -> Result<(), CommandError> {
        if self.shell {
            check_executable(Path::new(SHELL))?;
            let first = self.argv.first().map(String::as_str).unwrap_or("");
            let plain = !SHELL_WORDS.contains(&first)
                && !first.contains('=')
                && !first.chars().any(|c| SHELL_CHARS.contains(&c));
            self.script_file = if plain { Some(find_program(first, search_path)?) } else { None };
        } else {
            let first = self.argv.first().ok_or(CommandError::Empty)?;
            self.program = find_program(first, search_path)?;
        }
        Ok(())
    }

    /// The files whose permissions script security must check.
    pub fn files(&self) -> Vec<&Path> {
        let mut files = vec![self.program.as_path()];
        if let Some(f) = &self.script_file {
            files.push(f);
        }
        files
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// The daemon's PATH, or `DEFAULT_PATH`.
pub fn search_path() -> String {
    std::env::var("PATH").ok().filter(|p| !p.is_empty()).unwrap_or_else(|| DEFAULT_PATH.to_string())
}

/// Quote `word` so that `/bin/sh` reads it back unchanged.
pub fn shell_quote(word: &str) -> String {
    let mut out = String::with_capacity(word.len() + 2);
    out.push('\'');
    for c in word.chars() {
        if c == '\'' {
            out.push_str("'\\''");
        } else {
            out.push(c);
        }
    }
    out.push('\'');
    out
}

/// Look `name` up like execvp: names with a slash are taken as they are.
pub fn find_program(name: &str, search_path: &str) -> Result<PathBuf, CommandError> {
    if name.is_empty() {
        return Err(CommandError::Empty);
    }
    if name.contains('/') {
        let path = PathBuf::from(name);
        check_executable(&path)?;
        return Ok(path);
    }
    let mut first_bad = None;
    for dir in search_path.split(':').filter(|d| !d.is_empty()) {
        let candidate = Path::new(dir).join(name);
        match check_executable(&candidate) {
            Ok(()) => return Ok(candidate),
            Err(e @ CommandError::NotExecutable { .. }) => {
                first_bad.get_or_insert(e);
            }
            Err(_) => {}
        }
    }
    Err(first_bad
        .unwrap_or_else(|| CommandError::NotFound { name: name.into(), search_path: search_path.into() }))
}

fn check_executable(path: &Path) -> Result<(), CommandError> {
    let meta = fs::metadata(path).map_err(|_| CommandError::NotFound {
        name: path.display().to_string(),
        search_path: String::new(),
    })?;
    let mode = meta.permissions().mode();
    if !meta.is_file() || mode & 0o111 == 0 {
        return Err(CommandError::NotExecutable { path: path.to_path_buf(), mode });
    }
    Ok(())
}

struct Split {
    words: Vec<String>,
    /// Syntax that only a shell can carry out was seen outside quotes, or
    /// an expansion (`$`, backquote) inside double quotes.
    shell_syntax: bool,
    /// The first word had no quoting at all (so a `=` in it is an assignment).
    first_word_plain: bool,
}

fn split(text: &str) -> Result<Split, CommandError> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut quoted_word = false;
    let mut first_word_plain = true;
    let mut shell_syntax = false;
    let mut chars = text.chars().peekable();

    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                quoted_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => word.push(c),
                        None => return Err(CommandError::UnterminatedQuote('\'')),
                    }
                }
            }
            '"' => {
                in_word = true;
                quoted_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some('\n') => {}
                            Some(e @ ('$' | '`' | '"' | '\\')) => word.push(e),
                            Some(e) => {
                                word.push('\\');
                                word.push(e);
                            }
                            None => return Err(CommandError::UnterminatedQuote('"')),
                        },
                        Some(c) => {
                            if c == '$' || c == '`' {
                                shell_syntax = true;
                            }
                            word.push(c);
                        }
                        None => return Err(CommandError::UnterminatedQuote('"')),
                    }
                }
            }
            '\\' => match chars.next() {
                Some('\n') => {}
                Some(e) => {
                    in_word = true;
                    quoted_word = true;
                    word.push(e);
                }
                None => return Err(CommandError::TrailingBackslash),
            },
            ' ' | '\t' => {
                if in_word {
                    if words.is_empty() {
                        first_word_plain = !quoted_word;
                    }
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                    quoted_word = false;
                }
            }
            '#' if !in_word => {
                // A comment in sh; keep it for the shell rather than guess.
                shell_syntax = true;
                in_word = true;
                word.push(c);
            }
            c => {
                if SHELL_CHARS.contains(&c) {
                    shell_syntax = true;
                }
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        if words.is_empty() {
            first_word_plain = !quoted_word;
        }
        words.push(word);
    }
    Ok(Split { words, shell_syntax, first_word_plain })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn argv(text: &str) -> Vec<String> {
        Command::parse(text).expect("parses").argv
    }

    #[test]
    fn splits_like_a_shell() {
        assert_eq!(argv("/usr/bin/check --fast 'a b'"), ["/usr/bin/check", "--fast", "a b"]);
        assert_eq!(argv("  a   b\tc "), ["a", "b", "c"]);
        assert_eq!(argv(r#"x "a \"q\" \n" y"#), ["x", r#"a "q" \n"#, "y"]);
        assert_eq!(argv(r"x a\ b \'c"), ["x", "a b", "'c"]);
        assert_eq!(argv("x 'it''s' \"\" ''"), ["x", "its", "", ""]);
        assert_eq!(argv("x pre'mid dle'post"), ["x", "premid dlepost"]);
        assert_eq!(argv("x a\\\nb"), ["x", "ab"]);
    }

    #[test]
    fn syntax_errors() {
        assert_eq!(Command::parse(""), Err(CommandError::Empty));
        assert_eq!(Command::parse("   "), Err(CommandError::Empty));
        assert_eq!(Command::parse("x 'a"), Err(CommandError::UnterminatedQuote('\'')));
        assert_eq!(Command::parse("x \"a"), Err(CommandError::UnterminatedQuote('"')));
        assert_eq!(Command::parse("x a\\"), Err(CommandError::TrailingBackslash));
    }

    #[test]
    fn shell_detection_table() {
        let table: &[(&str, bool)] = &[
            ("/usr/bin/check --fast 'a b'", false),
            ("killall -0 haproxy", false),
            ("/bin/pidof nginx", false),
            ("curl -s http://127.0.0.1:80/health", false),
            ("check '|' '&&' '$HOME' 'a;b'", false),
            (r"check \| \$x", false),
            ("check --opt=1", false),
            ("pidof nginx | grep 1", true),
            ("a && b", true),
            ("a; b", true),
            ("a > /dev/null", true),
            ("a < in", true),
            ("a 2>&1", true),
            ("echo $HOME", true),
            ("echo \"$HOME\"", true),
            ("echo `date`", true),
            ("ls *.conf", true),
            ("ls file?", true),
            ("ls [ab]", true),
            ("ls ~/x", true),
            ("(a)", true),
            ("a\nb", true),
            ("a # comment", true),
            ("[ -f /run/x ]", true),
            ("test -f /run/x", true),
            ("exit 1", true),
            ("FOO=1 check", true),
            ("'FOO=1' check", false),
        ];
        for (text, shell) in table {
            let cmd = Command::parse(text).expect("parses");
            assert_eq!(cmd.shell, *shell, "{text:?}");
            if *shell {
                assert_eq!(cmd.program, Path::new(SHELL));
            } else {
                assert_eq!(cmd.program, Path::new(&cmd.argv[0]));
            }
        }
    }

    #[test]
    fn from_words_keeps_each_word() {
        let cmd = Command::from_words(&["/bin/check", "a b", "it's", ""]).expect("parses");
        assert_eq!(cmd.argv, ["/bin/check", "a b", "it's", ""]);
        assert!(!cmd.shell);
        let cmd = Command::from_words(&["pidof", "x", "|", "wc"]).expect("parses");
        assert!(cmd.shell);
    }

    #[test]
    fn shell_quote_round_trips() {
        for w in ["", "a", "a b", "it's", "'", "$x `y` \"z\" \\"] {
            let cmd = Command::parse(&format!("echo {}", shell_quote(w))).expect("parses");
            assert_eq!(cmd.argv, ["echo", w]);
            assert!(!cmd.shell);
        }
    }

    fn temp_dir(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("vigil-cmd-{}-{tag}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("temp dir");
        dir
    }

    #[test]
    fn path_resolution() {
        let dir = temp_dir("path");
        let exe = dir.join("vg-probe");
        fs::write(&exe, "#!/bin/sh\nexit 0\n").expect("write");
        fs::set_permissions(&exe, fs::Permissions::from_mode(0o755)).expect("chmod");
        let plain = dir.join("vg-plain");
        fs::write(&plain, "data").expect("write");
        fs::set_permissions(&plain, fs::Permissions::from_mode(0o644)).expect("chmod");
        let path = format!("/nonexistent-dir::{}", dir.display());

        let mut cmd = Command::parse("vg-probe --x").expect("parses");
        cmd.resolve(&path).expect("resolves");
        assert_eq!(cmd.program, exe);
        assert_eq!(cmd.argv[0], "vg-probe");

        let mut cmd = Command::parse("vg-missing").expect("parses");
        let err = cmd.resolve(&path).expect_err("missing");
        assert!(matches!(err, CommandError::NotFound { .. }), "{err:?}");
        assert!(err.to_string().contains("not found in PATH"), "{err}");

        let mut cmd = Command::parse("vg-plain").expect("parses");
        let err = cmd.resolve(&path).expect_err("not executable");
        assert_eq!(err, CommandError::NotExecutable { path: plain.clone(), mode: 0o100644 });
        assert!(err.to_string().contains("mode 0644"), "{err}");

        let mut cmd = Command::parse(&format!("{} a", exe.display())).expect("parses");
        cmd.resolve("").expect("absolute path needs no PATH");
        assert_eq!(cmd.program, exe);

        // A directory is not a program.
        let mut cmd = Command::parse(&dir.display().to_string()).expect("parses");
        assert!(matches!(cmd.resolve(&path), Err(CommandError::NotExecutable { .. })));

        // Shell commands: /bin/sh runs, a plain first word is still checked.
        let mut cmd = Command::parse("vg-probe > /dev/null").expect("parses");
        cmd.resolve(&path).expect("resolves");
        assert_eq!(cmd.program, Path::new(SHELL));
        assert_eq!(cmd.script_file.as_deref(), Some(exe.as_path()));
        assert_eq!(cmd.files(), [Path::new(SHELL), exe.as_path()]);
        let mut cmd = Command::parse("vg-missing | wc").expect("parses");
        assert!(matches!(cmd.resolve(&path), Err(CommandError::NotFound { .. })));
        let mut cmd = Command::parse("[ -f /x ]").expect("parses");
        cmd.resolve(&path).expect("builtin needs no file");
        assert_eq!(cmd.script_file, None);

        fs::remove_dir_all(&dir).expect("cleanup");
    }
}
