//! Lock cases: parsing of `fixtures/locks/*.sql`.
//!
//! Format (see fixtures/locks/README.md):
//!
//! ```text
//! -- case: validate-fk                       starts a case; name unique over all files
//! -- setup: ALTER TABLE t ADD ... NOT VALID;  extra setup SQL (repeatable), run after the
//!                                             common fixture; also shown to migrade as
//!                                             an earlier migration (schema history)
//! -- session: SET TimeZone = 'UTC';           session-only SQL (repeatable), run on the
//!                                             server before the statement, not shown to migrade
//! -- session-in-file                          the session lines are also in migrade's file,
//!                                             before the statement (a SET the file makes itself)
//! -- notx                                     the statement refuses a transaction block
//! -- migrade-args: --session-timezone-utc     extra arguments for `migrade lint`
//! -- compare-scan                             transactional only: compare the tables the
//!                                             statement scanned (seq_scan counters) with
//!                                             migrade's `effects.scan`
//! -- blocker: pt SHARE UPDATE EXCLUSIVE 1.0   notx only (repeatable): a session that holds this
//!                                             lock for this many seconds while the statement runs
//!                                             (default: t SHARE UPDATE EXCLUSIVE 1.0 and
//!                                             t ACCESS SHARE 2.0, see measure::run_notx)
//! -- fails: cannot drop index                the server refuses the statement with this error
//!                                             (asserted); a migrade finding must quote it
//! -- known-gap: lock parent ROW SHARE -> none: <why>
//! -- known-gap: rewrite false -> true: <why>
//! -- note: free text, printed in the report
//! ALTER TABLE t VALIDATE CONSTRAINT t_parent_fk2;   the statement (every non-comment line)
//! ```
//!
//! Any other `--` line is a comment and ignored.

use std::path::{Path, PathBuf};

/// PostgreSQL table lock modes, weakest first (the order of their lock numbers).
pub const MODES: [(&str, &str); 8] = [
    ("AccessShareLock", "ACCESS SHARE"),
    ("RowShareLock", "ROW SHARE"),
    ("RowExclusiveLock", "ROW EXCLUSIVE"),
    ("ShareUpdateExclusiveLock", "SHARE UPDATE EXCLUSIVE"),
    ("ShareLock", "SHARE"),
    ("ShareRowExclusiveLock", "SHARE ROW EXCLUSIVE"),
    ("ExclusiveLock", "EXCLUSIVE"),
    ("AccessExclusiveLock", "ACCESS EXCLUSIVE"),
];

/// Index into [`MODES`]; a higher number is the stronger mode.
pub type Mode = usize;

pub fn mode_from_pg_locks(s: &str) -> Option<Mode> {
    MODES.iter().position(|(internal, _)| *internal == s)
}

/// Accepts `ACCESS EXCLUSIVE`, `access exclusive`, `ACCESS_EXCLUSIVE`, `AccessExclusiveLock`.
pub fn mode_from_name(s: &str) -> Option<Mode> {
    let norm = s.trim().replace(['_', '-'], " ").to_ascii_uppercase();
    let norm = norm.split_whitespace().collect::<Vec<_>>().join(" ");
    MODES.iter().position(|(_, name)| *name == norm).or_else(|| mode_from_pg_locks(s.trim()))
}

pub fn mode_name(m: Mode) -> &'static str {
    MODES[m].1
}

pub fn opt_mode_name(m: Option<Mode>) -> &'static str {
    m.map(mode_name).unwrap_or("-")
}

#[derive(Debug, Clone, PartialEq)]
pub enum Gap {
    /// The server takes `server` on `table`; migrade may report `migrade` instead.
    Lock { table: String, server: Option<Mode>, migrade: Option<Mode> },
    /// The server's rewrite verdict is `server`; migrade may report `migrade` instead.
    Rewrite { server: bool, migrade: bool },
}

#[derive(Debug, Clone)]
pub struct KnownGap {
    pub gap: Gap,
    pub reason: String,
}

/// A session that holds `mode` on `table` for `secs` seconds (in a REPEATABLE READ
/// transaction, so it also holds a snapshot) while a notx statement runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Blocker {
    pub table: String,
    pub mode: Mode,
    pub secs: f64,
}

/// `<table> <MODE> <seconds>`, e.g. `pt_2 ACCESS SHARE 2.0`
pub fn parse_blocker(text: &str) -> Result<Blocker, String> {
    let words: Vec<&str> = text.split_whitespace().collect();
    if words.len() < 3 {
        return Err(format!("blocker: expected `<table> <MODE> <seconds>`, got `{text}`"));
    }
    let secs: f64 = words[words.len() - 1].parse().map_err(|_| format!("blocker: bad seconds in `{text}`"))?;
    let mode_text = words[1..words.len() - 1].join(" ");
    let mode = mode_from_name(&mode_text).ok_or_else(|| format!("blocker: unknown lock mode `{mode_text}`"))?;
    Ok(Blocker { table: words[0].to_string(), mode, secs })
}

/// The blockers of a notx case without `-- blocker:` lines: one that makes the
/// statement queue for its first lock on `t`, then one that holds a snapshot and
/// an ACCESS SHARE lock on `t` a second longer, so that statements which wait for
/// older snapshots or for lockers of `t` (CREATE INDEX / REINDEX CONCURRENTLY,
/// DROP INDEX CONCURRENTLY) are sampled while they hold their lock.
pub fn default_blockers() -> Vec<Blocker> {
    vec![Blocker { table: "t".into(), mode: 3, secs: 1.0 }, Blocker { table: "t".into(), mode: 0, secs: 2.0 }]
}

#[derive(Debug, Clone)]
pub struct Case {
    pub name: String,
    pub file: PathBuf,
    pub line: usize,
    pub setup: Vec<String>,
    pub session: Vec<String>,
    pub notx: bool,
    pub known_gaps: Vec<KnownGap>,
    pub notes: Vec<String>,
    /// For notx cases: blocker sessions (none given: the default pair).
    pub blockers: Vec<Blocker>,
    /// Extra command-line arguments for `migrade lint` (e.g. `--session-timezone-utc`).
    pub migrade_args: Vec<String>,
    /// `-- compare-scan`: the server's scans (`pg_stat_xact_user_tables.seq_scan`) are
    /// compared with migrade's `effects.scan` claim.
    pub compare_scan: bool,
    /// `-- session-in-file`: migrade sees the `session` lines before the statement, in the same file.
    pub session_in_file: bool,
    /// `-- fails: <text>`: the server refuses the statement with an error containing
    /// `text`, and a migrade finding on it must quote that text (its claim that it fails).
    pub fails: Option<String>,
    pub stmt: String,
}

fn parse_mode_or_none(s: &str) -> Result<Option<Mode>, String> {
    let s = s.trim();
    if s.eq_ignore_ascii_case("none") || s == "-" {
        return Ok(None);
    }
    mode_from_name(s).map(Some).ok_or_else(|| format!("unknown lock mode `{s}`"))
}

fn parse_bool(s: &str) -> Result<bool, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" => Ok(true),
        "false" | "no" => Ok(false),
        other => Err(format!("expected true/false, got `{other}`")),
    }
}

/// `lock <table> <MODE|none> -> <MODE|none>: reason`
/// `rewrite <true|false> -> <true|false>: reason`
pub fn parse_known_gap(text: &str) -> Result<KnownGap, String> {
    let (spec, reason) = text.split_once(':').ok_or("known-gap needs `: <reason>` after the override")?;
    let reason = reason.trim().to_string();
    if reason.is_empty() {
        return Err("known-gap needs a reason".into());
    }
    let spec = spec.trim();
    let (kind, rest) = spec.split_once(char::is_whitespace).ok_or("known-gap: `lock ...` or `rewrite ...`")?;
    let (from, to) = rest.split_once("->").ok_or("known-gap: missing `->`")?;
    let gap = match kind {
        "lock" => {
            let from = from.trim();
            let (table, server) = from
                .split_once(char::is_whitespace)
                .ok_or("known-gap lock: `lock <table> <server mode> -> <migrade mode>`")?;
            Gap::Lock {
                table: table.to_ascii_lowercase(),
                server: parse_mode_or_none(server)?,
                migrade: parse_mode_or_none(to)?,
            }
        }
        "rewrite" => Gap::Rewrite { server: parse_bool(from)?, migrade: parse_bool(to)? },
        other => return Err(format!("known-gap: unknown kind `{other}`")),
    };
    Ok(KnownGap { gap, reason })
}

pub fn parse_file(path: &Path, text: &str) -> Result<Vec<Case>, String> {
    let mut cases: Vec<Case> = Vec::new();
    let mut body: Vec<String> = Vec::new();
    let finish = |cases: &mut Vec<Case>, body: &mut Vec<String>| -> Result<(), String> {
        if let Some(c) = cases.last_mut() {
            let stmt = body.join("\n").trim().to_string();
            if stmt.is_empty() {
                return Err(format!("{}:{}: case `{}` has no statement", path.display(), c.line, c.name));
            }
            c.stmt = stmt;
        }
        body.clear();
        Ok(())
    };
    for (i, raw) in text.lines().enumerate() {
        let lineno = i + 1;
        let line = raw.trim_end();
        let trimmed = line.trim_start();
        if let Some(comment) = trimmed.strip_prefix("--") {
            let comment = comment.trim();
            let (key, value) = match comment.split_once(':') {
                Some((k, v)) => (k.trim(), Some(v.trim())),
                None => (comment, None),
            };
            let err = |m: String| format!("{}:{lineno}: {m}", path.display());
            match (key, value) {
                ("case", Some(name)) => {
                    finish(&mut cases, &mut body)?;
                    if name.is_empty() || name.contains(char::is_whitespace) {
                        return Err(err(format!("bad case name `{name}`")));
                    }
                    cases.push(Case {
                        name: name.to_string(),
                        file: path.to_path_buf(),
                        line: lineno,
                        setup: vec![],
                        session: vec![],
                        notx: false,
                        known_gaps: vec![],
                        notes: vec![],
                        migrade_args: vec![],
                        blockers: vec![],
                        compare_scan: false,
                        session_in_file: false,
                        fails: None,
                        stmt: String::new(),
                    });
                }
                (
                    "setup" | "session" | "known-gap" | "note" | "notx" | "migrade-args" | "blocker" | "compare-scan"
                    | "session-in-file" | "fails",
                    _,
                ) if cases.is_empty() => {
                    return Err(err(format!("`{key}` before the first `-- case:`")));
                }
                ("setup", Some(v)) => cases.last_mut().unwrap().setup.push(v.to_string()),
                ("session", Some(v)) => cases.last_mut().unwrap().session.push(v.to_string()),
                ("note", Some(v)) => cases.last_mut().unwrap().notes.push(v.to_string()),
                ("notx", None) => cases.last_mut().unwrap().notx = true,
                ("compare-scan", None) => cases.last_mut().unwrap().compare_scan = true,
                ("session-in-file", None) => cases.last_mut().unwrap().session_in_file = true,
                ("fails", Some(v)) => cases.last_mut().unwrap().fails = Some(v.to_string()),
                ("blocker", Some(v)) => {
                    let b = parse_blocker(v).map_err(err)?;
                    cases.last_mut().unwrap().blockers.push(b);
                }
                ("migrade-args", Some(v)) => {
                    cases.last_mut().unwrap().migrade_args.extend(v.split_whitespace().map(String::from))
                }
                ("known-gap", Some(v)) => {
                    let g = parse_known_gap(v).map_err(err)?;
                    cases.last_mut().unwrap().known_gaps.push(g);
                }
                _ => {} // a plain comment
            }
            continue;
        }
        if cases.is_empty() {
            if !trimmed.is_empty() {
                return Err(format!("{}:{lineno}: SQL before the first `-- case:`", path.display()));
            }
            continue;
        }
        body.push(line.to_string());
    }
    finish(&mut cases, &mut body)?;
    Ok(cases)
}

/// All cases of `dir/*.sql`, in file-name order, then file order.
pub fn load_dir(dir: &Path) -> Result<Vec<Case>, String> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot read {}: {e}", dir.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "sql"))
        .collect();
    files.sort();
    let mut all = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).map_err(|e| format!("{}: {e}", f.display()))?;
        all.extend(parse_file(&f, &text)?);
    }
    let mut seen = std::collections::BTreeMap::new();
    for c in &all {
        if let Some(prev) = seen.insert(c.name.clone(), (c.file.clone(), c.line)) {
            return Err(format!(
                "case name `{}` used twice: {}:{} and {}:{}",
                c.name,
                prev.0.display(),
                prev.1,
                c.file.display(),
                c.line
            ));
        }
    }
    Ok(all)
}
