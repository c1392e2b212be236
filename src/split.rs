//! Splits a migration file into statements with exact byte spans.
//!
//! Handles `--` and nested `/* */` comments, `'...'` strings (with `''`),
//! `E'...'` strings (with backslash escapes), `"..."` identifiers,
//! dollar-quoted bodies (`$$`, `$tag$`), `BEGIN ATOMIC ... END` function
//! bodies, psql meta-commands (`\set ...` lines), and goose's
//! `-- +goose StatementBegin` / `StatementEnd` blocks. It never fails: an
//! unterminated quote or comment runs to the end of the file and is flagged.

/// One statement: `start..end` covers its text including a final `;`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawStatement {
    pub start: usize,
    /// Exclusive end, after the `;` when there is one.
    pub end: usize,
    /// Exclusive end of the SQL text, before the `;`.
    pub body_end: usize,
    /// What was left open at the end of the file, if anything.
    pub unterminated: Option<Unterminated>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unterminated {
    BlockComment { start: usize },
    String { start: usize },
    QuotedIdentifier { start: usize },
    DollarQuote { start: usize },
}

impl Unterminated {
    pub fn start(&self) -> usize {
        match *self {
            Unterminated::BlockComment { start }
            | Unterminated::String { start }
            | Unterminated::QuotedIdentifier { start }
            | Unterminated::DollarQuote { start } => start,
        }
    }
    pub fn describe(&self) -> &'static str {
        match self {
            Unterminated::BlockComment { .. } => "unterminated /* comment",
            Unterminated::String { .. } => "unterminated quoted string",
            Unterminated::QuotedIdentifier { .. } => "unterminated quoted identifier",
            Unterminated::DollarQuote { .. } => "unterminated dollar-quoted string",
        }
    }
}

/// A comment: `--` to the end of the line, or `/* ... */`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    pub start: usize,
    pub end: usize,
    pub line: bool,
}

/// A psql meta-command line (`\set`, `\connect`, `\i` ...), not sent to the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetaCommand {
    pub start: usize,
    pub end: usize,
}

#[derive(Debug, Clone, Default)]
pub struct Split {
    pub statements: Vec<RawStatement>,
    pub comments: Vec<Comment>,
    pub meta_commands: Vec<MetaCommand>,
}

fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b >= 0x80
}

fn is_ident_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80
}

/// Splits `text` into statements and comments.
pub fn split(text: &str) -> Split {
    let bytes = text.as_bytes();
    let n = bytes.len();
    let mut out = Split::default();
    let mut i = 0;
    if text.starts_with('\u{feff}') {
        i = 3;
    }
    // Current statement state.
    let mut stmt_start: Option<usize> = None;
    let mut in_goose_block = false;
    // BEGIN ATOMIC tracking: keywords of the current statement.
    let mut saw_function = false;
    let mut prev_word_begin = false;
    let mut atomic_depth: usize = 0;
    let mut word_count = 0usize;
    let mut line_start = true;

    macro_rules! finish {
        ($end:expr, $body_end:expr, $unterminated:expr) => {
            if let Some(s) = stmt_start.take() {
                out.statements.push(RawStatement {
                    start: s,
                    end: $end,
                    body_end: $body_end,
                    unterminated: $unterminated,
                });
            }
            saw_function = false;
            prev_word_begin = false;
            atomic_depth = 0;
            word_count = 0;
        };
    }

    while i < n {
        let b = bytes[i];
        match b {
            b' ' | b'\t' | b'\x0c' => {
                i += 1;
                continue;
            }
            b'\n' | b'\r' => {
                i += 1;
                line_start = true;
                continue;
            }
            _ => {}
        }
        let at_line_start = line_start;
        line_start = false;
        // psql meta-command: a backslash first on a line, outside a statement.
        if b == b'\\' && at_line_start && stmt_start.is_none() {
            let s = i;
            while i < n && bytes[i] != b'\n' && bytes[i] != b'\r' {
                i += 1;
            }
            out.meta_commands.push(MetaCommand { start: s, end: i });
            continue;
        }
        // Line comment.
        if b == b'-' && bytes.get(i + 1) == Some(&b'-') {
            let s = i;
            while i < n && bytes[i] != b'\n' && bytes[i] != b'\r' {
                i += 1;
            }
            let body = text[s + 2..i].trim();
            out.comments.push(Comment { start: s, end: i, line: true });
            if let Some(rest) = body.strip_prefix("+goose") {
                let rest = rest.trim();
                if rest.eq_ignore_ascii_case("StatementBegin") {
                    if let Some(st) = stmt_start {
                        let end = trim_ws_end(text, st, s);
                        finish!(end, end, None);
                    }
                    in_goose_block = true;
                } else if rest.eq_ignore_ascii_case("StatementEnd") {
                    in_goose_block = false;
                    if let Some(st) = stmt_start {
                        let body_end = trim_end_semicolon(text, st, s);
                        let end = trim_ws_end(text, st, s);
                        finish!(end, body_end, None);
                    }
                }
            }
            continue;
        }
        // Block comment (nested).
        if b == b'/' && bytes.get(i + 1) == Some(&b'*') {
            let s = i;
            let mut depth = 0usize;
            let mut closed = false;
            while i < n {
                if bytes[i] == b'/' && bytes.get(i + 1) == Some(&b'*') {
                    depth += 1;
                    i += 2;
                } else if bytes[i] == b'*' && bytes.get(i + 1) == Some(&b'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        closed = true;
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            out.comments.push(Comment { start: s, end: i, line: false });
            if !closed {
                if stmt_start.is_none() {
                    stmt_start = Some(s);
                }
                finish!(n, n, Some(Unterminated::BlockComment { start: s }));
            }
            continue;
        }
        if b == b';' && !in_goose_block && atomic_depth == 0 {
            if let Some(s) = stmt_start {
                let _ = s;
                finish!(i + 1, i, None);
            }
            i += 1;
            continue;
        }
        if stmt_start.is_none() {
            stmt_start = Some(i);
        }
        match b {
            b'\'' => {
                let escapes =
                    i > 0 && (bytes[i - 1] == b'E' || bytes[i - 1] == b'e') && (i < 2 || !is_ident_char(bytes[i - 2]));
                match skip_string(bytes, i, escapes) {
                    Some(e) => i = e,
                    None => {
                        finish!(n, n, Some(Unterminated::String { start: i }));
                        i = n;
                    }
                }
            }
            b'"' => match skip_quoted(bytes, i, b'"') {
                Some(e) => i = e,
                None => {
                    finish!(n, n, Some(Unterminated::QuotedIdentifier { start: i }));
                    i = n;
                }
            },
            b'$' => {
                if let Some(tag_end) = dollar_tag(bytes, i) {
                    let tag = &bytes[i..tag_end];
                    match find_bytes(bytes, tag_end, tag) {
                        Some(close) => i = close + tag.len(),
                        None => {
                            finish!(n, n, Some(Unterminated::DollarQuote { start: i }));
                            i = n;
                        }
                    }
                } else {
                    i += 1;
                    while i < n && bytes[i].is_ascii_digit() {
                        i += 1;
                    }
                }
            }
            _ if is_ident_start(b) => {
                let s = i;
                while i < n && is_ident_char(bytes[i]) {
                    i += 1;
                }
                let word = &text[s..i];
                word_count += 1;
                if word.eq_ignore_ascii_case("function") || word.eq_ignore_ascii_case("procedure") {
                    if word_count <= 5 {
                        saw_function = true;
                    }
                } else if word.eq_ignore_ascii_case("atomic") && prev_word_begin && saw_function {
                    atomic_depth = 1;
                } else if atomic_depth > 0 {
                    if word.eq_ignore_ascii_case("case") {
                        atomic_depth += 1;
                    } else if word.eq_ignore_ascii_case("end") {
                        atomic_depth -= 1;
                    }
                }
                prev_word_begin = word.eq_ignore_ascii_case("begin");
            }
            _ => {
                if b.is_ascii_digit() {
                    while i < n && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'.' || bytes[i] == b'_') {
                        i += 1;
                    }
                } else {
                    i += 1;
                }
            }
        }
    }
    if let Some(s) = stmt_start {
        let end = trim_ws_end(text, s, n);
        out.statements.push(RawStatement { start: s, end, body_end: end, unterminated: None });
    }
    out
}

fn trim_ws_end(text: &str, start: usize, end: usize) -> usize {
    let t = text[start..end].trim_end_matches(|c: char| c.is_ascii_whitespace());
    start + t.len()
}

fn trim_end_semicolon(text: &str, start: usize, end: usize) -> usize {
    let t = text[start..end].trim_end_matches(|c: char| c.is_ascii_whitespace());
    let t = t.strip_suffix(';').unwrap_or(t).trim_end_matches(|c: char| c.is_ascii_whitespace());
    start + t.len()
}

/// Returns the offset after the closing quote of a `'...'` string starting at `i`.
fn skip_string(bytes: &[u8], i: usize, backslash_escapes: bool) -> Option<usize> {
    let mut j = i + 1;
    while j < bytes.len() {
        match bytes[j] {
            b'\\' if backslash_escapes => j += 2,
            b'\'' => {
                if bytes.get(j + 1) == Some(&b'\'') {
                    j += 2;
                } else {
                    return Some(j + 1);
                }
            }
            _ => j += 1,
        }
    }
    None
}

fn skip_quoted(bytes: &[u8], i: usize, q: u8) -> Option<usize> {
    let mut j = i + 1;
    while j < bytes.len() {
        if bytes[j] == q {
            if bytes.get(j + 1) == Some(&q) {
                j += 2;
            } else {
                return Some(j + 1);
            }
        } else {
            j += 1;
        }
    }
    None
}

/// If a dollar-quote opening tag starts at `i`, returns the offset after it.
fn dollar_tag(bytes: &[u8], i: usize) -> Option<usize> {
    // `$` preceded by an identifier character is part of that identifier.
    if i > 0 && is_ident_char(bytes[i - 1]) && bytes[i - 1] != b'$' {
        return None;
    }
    let mut j = i + 1;
    if j < bytes.len() && bytes[j] == b'$' {
        return Some(j + 1);
    }
    if j < bytes.len() && is_ident_start(bytes[j]) {
        while j < bytes.len() && (bytes[j].is_ascii_alphanumeric() || bytes[j] == b'_' || bytes[j] >= 0x80) {
            j += 1;
        }
        if j < bytes.len() && bytes[j] == b'$' {
            return Some(j + 1);
        }
    }
    None
}

fn find_bytes(hay: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || from > hay.len() {
        return None;
    }
    let first = needle[0];
    let mut j = from;
    while j + needle.len() <= hay.len() {
        match hay[j..].iter().position(|&c| c == first) {
            Some(p) => {
                j += p;
                if j + needle.len() <= hay.len() && &hay[j..j + needle.len()] == needle {
                    return Some(j);
                }
                j += 1;
            }
            None => return None,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(sql: &str) -> Vec<&str> {
        split(sql).statements.iter().map(|s| &sql[s.start..s.end]).collect()
    }

    #[test]
    fn basic_and_comments() {
        let sql = "-- a; b\nSELECT 1; /* x; /* nested; */ */ SELECT 'a;''b';\nSELECT \"x;\"";
        assert_eq!(texts(sql), vec!["SELECT 1;", "SELECT 'a;''b';", "SELECT \"x;\""]);
    }

    #[test]
    fn dollar_quotes_and_escapes() {
        let sql = "DO $body$ BEGIN PERFORM 1; END $body$; SELECT E'it\\'s;'; SELECT $1;";
        assert_eq!(texts(sql), vec!["DO $body$ BEGIN PERFORM 1; END $body$;", "SELECT E'it\\'s;';", "SELECT $1;"]);
        let sql2 = "CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql; SELECT a$b;";
        assert_eq!(texts(sql2).len(), 2);
    }

    #[test]
    fn begin_atomic() {
        let sql = "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT CASE WHEN true THEN 1 END; END; SELECT 2;";
        let t = texts(sql);
        assert_eq!(t.len(), 2, "{t:?}");
        assert!(t[0].ends_with("END; END;"));
    }

    #[test]
    fn unterminated_runs_to_end() {
        let sql = "SELECT 1; DO $$ BEGIN";
        let s = split(sql);
        assert_eq!(s.statements.len(), 2);
        assert!(matches!(s.statements[1].unterminated, Some(Unterminated::DollarQuote { start: 13 })));
        let s = split("SELECT 1; /* open");
        assert_eq!(s.statements.len(), 2);
    }

    #[test]
    fn goose_blocks_and_meta() {
        let sql = "-- +goose Up\n-- +goose StatementBegin\nCREATE FUNCTION f() RETURNS trigger AS 'x;' LANGUAGE plpgsql; SELECT 1;\n-- +goose StatementEnd\n\\set x 1\nSELECT 2;";
        let s = split(sql);
        let t: Vec<_> = s.statements.iter().map(|st| &sql[st.start..st.body_end]).collect();
        assert_eq!(t.len(), 2, "{t:?}");
        assert!(t[0].ends_with("SELECT 1"));
        assert_eq!(s.meta_commands.len(), 1);
    }

    #[test]
    fn bom_is_skipped() {
        let sql = "\u{feff}SELECT 1;";
        assert_eq!(split(sql).statements[0].start, 3);
    }
}
