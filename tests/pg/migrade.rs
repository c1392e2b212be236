//! Running migrade on a case and reading its JSON report.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

use super::cases::{Case, Mode, mode_from_name};
use super::measure::FIXTURE_DDL;

/// Name of the file that holds the case statement (the second migration).
pub const CASE_FILE: &str = "0002_case.sql";
/// Name of the file that holds the fixture DDL and the case setup (the first migration).
pub const HISTORY_FILE: &str = "0001_fixture.sql";

#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Strongest mode per table (unqualified, lower case), from `effects.table/lock`
    /// and `effects.other_locks` of the case statement(s).
    pub locks: BTreeMap<String, Mode>,
    pub rewrite: bool,
    /// `effects.scan` of any case statement.
    pub scan: bool,
    pub exit_code: Option<i32>,
    /// `summary` of each statement, for the report.
    pub summaries: Vec<String>,
    /// `rule: message` of every finding on the file.
    pub findings: Vec<String>,
}

fn unqualify(name: &str) -> String {
    let n = name.rsplit('.').next().unwrap_or(name);
    n.trim_matches('"').to_ascii_lowercase()
}

fn add_lock(locks: &mut BTreeMap<String, Mode>, table: &Value, lock: &Value, ctx: &str) -> Result<(), String> {
    let (Some(table), Some(lock)) = (table.as_str(), lock.as_str()) else {
        // `table` or `lock` null: no lock reported for this entry.
        return Ok(());
    };
    let m = mode_from_name(lock).ok_or_else(|| format!("{ctx}: unknown lock mode `{lock}`"))?;
    let e = locks.entry(unqualify(table)).or_insert(m);
    if m > *e {
        *e = m;
    }
    Ok(())
}

/// Parses migrade's JSON report and extracts the statements of the file whose path
/// ends with `file_suffix`.
pub fn parse_report(json: &str, file_suffix: &str) -> Result<Report, String> {
    let v: Value = serde_json::from_str(json).map_err(|e| format!("output is not JSON ({e})"))?;
    if v.get("version").and_then(Value::as_u64) != Some(1) {
        return Err("JSON has no `\"version\": 1`".into());
    }
    let files = v.get("files").and_then(Value::as_array).ok_or("JSON has no `files` array")?;
    let file = files
        .iter()
        .find(|f| f.get("path").and_then(Value::as_str).is_some_and(|p| p.ends_with(file_suffix)))
        .ok_or_else(|| {
        let errors = v.get("errors").map(|e| e.to_string()).unwrap_or_default();
        format!("no entry for {file_suffix} in `files` (errors: {errors})")
    })?;
    let stmts = file.get("statements").and_then(Value::as_array).ok_or("file entry has no `statements` array")?;
    if stmts.is_empty() {
        return Err("`statements` is empty".into());
    }
    let mut r = Report::default();
    for f in file.get("findings").and_then(Value::as_array).into_iter().flatten() {
        let (rule, msg) = (f.get("rule").and_then(Value::as_str), f.get("message").and_then(Value::as_str));
        r.findings.push(format!("{}: {}", rule.unwrap_or("?"), msg.unwrap_or("")));
    }
    for (i, s) in stmts.iter().enumerate() {
        let ctx = format!("statements[{i}]");
        if let Some(sum) = s.get("summary").and_then(Value::as_str) {
            r.summaries.push(sum.to_string());
        }
        let eff = s.get("effects").ok_or_else(|| format!("{ctx} has no `effects`"))?;
        add_lock(
            &mut r.locks,
            eff.get("table").unwrap_or(&Value::Null),
            eff.get("lock").unwrap_or(&Value::Null),
            &ctx,
        )?;
        if let Some(others) = eff.get("other_locks") {
            let others = others.as_array().ok_or_else(|| format!("{ctx}: `other_locks` is not an array"))?;
            for o in others {
                add_lock(
                    &mut r.locks,
                    o.get("table").unwrap_or(&Value::Null),
                    o.get("lock").unwrap_or(&Value::Null),
                    &ctx,
                )?;
            }
        }
        r.scan |= eff.get("scan").and_then(Value::as_bool).unwrap_or(false);
        match eff.get("rewrite") {
            Some(Value::Bool(b)) => r.rewrite |= *b,
            Some(Value::Null) | None => return Err(format!("{ctx}: `effects.rewrite` missing")),
            Some(other) => return Err(format!("{ctx}: `effects.rewrite` is {other}")),
        }
    }
    Ok(r)
}

/// Writes the case as a two-file migration directory under `dir`:
/// `0001_fixture.sql` (fixture DDL + case setup: the schema history, so migrade
/// knows the tables exist and the columns' old types) and `0002_case.sql` (only the
/// statement), runs `migrade lint --no-config --format json --pg-version <major> [case args] <dir>`.
pub fn run(bin: &Path, dir: &Path, case: &Case, pg_major: u32) -> Result<Report, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut history = String::from(FIXTURE_DDL);
    for l in &case.setup {
        history.push_str(l.trim_end());
        if !l.trim_end().ends_with(';') {
            history.push(';');
        }
        history.push('\n');
    }
    let mut stmt = String::new();
    if case.session_in_file {
        for l in &case.session {
            stmt.push_str(l.trim_end());
            if !l.trim_end().ends_with(';') {
                stmt.push(';');
            }
            stmt.push('\n');
        }
    }
    stmt.push_str(case.stmt.trim_end());
    if !stmt.ends_with(';') {
        stmt.push(';');
    }
    stmt.push('\n');
    std::fs::write(dir.join(HISTORY_FILE), history).map_err(|e| e.to_string())?;
    std::fs::write(dir.join(CASE_FILE), stmt).map_err(|e| e.to_string())?;
    let out = Command::new(bin)
        .args(["lint", "--no-config", "--format", "json", "--pg-version", &pg_major.to_string()])
        .args(&case.migrade_args)
        .arg(dir)
        .output()
        .map_err(|e| format!("cannot run {}: {e}", bin.display()))?;
    let code = out.status.code();
    if code.is_none() {
        use std::os::unix::process::ExitStatusExt;
        return Err(format!(
            "migrade was killed by signal {:?}: {}",
            out.status.signal(),
            first_chars(&String::from_utf8_lossy(&out.stderr), 300)
        ));
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !matches!(code, Some(0) | Some(1)) {
        return Err(format!(
            "migrade exited with {code:?}: {}{}",
            stderr.trim(),
            if stdout.trim().is_empty() { String::new() } else { format!(" / stdout: {}", first_chars(&stdout, 300)) }
        ));
    }
    let mut r = parse_report(&stdout, CASE_FILE)
        .map_err(|e| format!("{e}; stdout: {}; stderr: {}", first_chars(&stdout, 300), first_chars(&stderr, 300)))?;
    r.exit_code = code;
    Ok(r)
}

fn first_chars(s: &str, n: usize) -> String {
    let t: String = s.trim().chars().take(n).collect();
    if s.trim().chars().count() > n { format!("{t}…") } else { t }
}
