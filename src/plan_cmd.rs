//! `migrade plan FILE [--split DIR]`: the expand/contract plan of one file,
//! printed, or written as separate migration files named like FILE.

use crate::discover::DiscoverOptions;
use crate::lint::Settings;
use crate::model::{FileReport, PlanStep, Stage};
use crate::run::{self, RunOptions};
use crate::unit::{migration_name, version_name};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Lints FILE with the schema history of its folder and returns its report.
pub fn report_for(file: &str, settings: &Settings) -> Result<FileReport, String> {
    let path = Path::new(file);
    if !path.is_file() {
        return Err(format!("{file}: no such file; give the path of one migration file"));
    }
    let group = crate::discover::group_of(path);
    let canonical = std::fs::canonicalize(path).map_err(|e| format!("{file}: {e}"))?;
    let root = if group.as_os_str().is_empty() { PathBuf::from(".") } else { group };
    let opts = RunOptions {
        paths: vec![root.to_string_lossy().to_string(), file.to_string()],
        discover: DiscoverOptions::default(),
        layout: None,
        max_file_size: run::DEFAULT_MAX_FILE_SIZE,
        only: Some(HashSet::from([canonical])),
        history_from_siblings: false,
    };
    let mut r = run::run(&opts, settings)?;
    if let Some(e) = r.errors.pop() {
        return Err(format!("{}: {}", e.path, e.message));
    }
    r.files.pop().ok_or_else(|| format!("{file}: not linted"))
}

/// The version at the start of a migration name: digits, or digit groups joined
/// by `-` (Diesel's `2024-01-01-000000`), and the separator after it.
fn leading_version(vname: &str) -> Option<(String, char)> {
    let b = vname.as_bytes();
    let mut end = 0;
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_digit() {
            i += 1;
            end = i;
        } else if b[i] == b'-' && end == i && i + 1 < b.len() && b[i + 1].is_ascii_digit() {
            i += 1;
        } else {
            break;
        }
    }
    if end == 0 {
        return None;
    }
    let sep = vname[end..].chars().next().filter(|c| matches!(c, '_' | '-' | '.')).unwrap_or('_');
    Some((vname[..end].to_string(), sep))
}

/// The version `i` steps after `v`: its last digit group plus `i`, same width.
fn bump(v: &str, i: usize) -> String {
    let cut = v.rfind('-').map(|p| p + 1).unwrap_or(0);
    let (head, last) = v.split_at(cut);
    let n: u128 = last.parse().unwrap_or(0) + i as u128;
    format!("{head}{:0width$}", n, width = last.len())
}

/// File names for the stages, in FILE's convention, relative to the --split directory.
pub fn stage_paths(file: &str, stages: &[Stage]) -> Vec<(Stage, PathBuf)> {
    let path = Path::new(file);
    let vname = version_name(path);
    let name = migration_name(file);
    let fname = path.file_name().map(|f| f.to_string_lossy().to_string()).unwrap_or_default();
    let dir_style = matches!(fname.as_str(), "up.sql" | "down.sql" | "migration.sql");
    let flyway = (vname.starts_with('V') || vname.starts_with('v')) && vname.contains("__");
    let version = leading_version(&vname);
    let ext = if dir_style {
        String::new()
    } else {
        [".up.sql", ".down.sql", "_up.sql", "_down.sql", ".sql"]
            .iter()
            .find(|e| fname.ends_with(*e))
            .map(|e| e.to_string())
            .unwrap_or_else(|| ".sql".to_string())
    };
    let join = |a: &str, b: &str| if a.is_empty() { b.to_string() } else { format!("{a}_{b}") };
    let mut out = Vec::new();
    for (i, stage) in stages.iter().enumerate() {
        let suffix = stage.as_str();
        let stem = if flyway {
            let ver = &vname[1..vname.find("__").unwrap_or(1)];
            format!("{}{ver}_{}__{}", &vname[..1], i + 1, join(&name, suffix))
        } else if let Some((v, sep)) = &version {
            format!("{}{sep}{}", bump(v, i), join(&name, suffix))
        } else {
            format!("{}_{}", join(&name, &(i + 1).to_string()), suffix)
        };
        let p = if dir_style { PathBuf::from(stem).join(&fname) } else { PathBuf::from(format!("{stem}{ext}")) };
        out.push((*stage, p));
    }
    out
}

/// Removes `BEGIN` / `COMMIT` statements (the file's own transaction replaces them).
fn strip_tx_statements(sql: &str) -> String {
    let sp = crate::split::split(sql);
    let mut out = String::new();
    let mut at = 0;
    for st in &sp.statements {
        if crate::plan::is_transaction_control(&sql[st.start..st.body_end]) {
            out.push_str(&sql[at..st.start]);
            at = st.end;
            if sql[at..].starts_with('\n') {
                at += 1;
            }
        }
    }
    out.push_str(&sql[at..]);
    out
}

/// A step of several statements as its own transaction, unless it says BEGIN itself.
fn own_transaction(sql: &str) -> String {
    let sp = crate::split::split(sql);
    let code = sp.statements.iter().filter(|st| !sql[st.start..st.body_end].trim().starts_with("--")).count();
    if code < 2 || sp.statements.iter().any(|st| crate::plan::is_transaction_control(&sql[st.start..st.body_end])) {
        return sql.to_string();
    }
    format!("BEGIN;\n{}\nCOMMIT;", sql.trim_end())
}

/// One stage as a migration file. A file with a single transactional step runs
/// as one transaction (the tool's); any other file runs outside a transaction
/// block with each step its own transaction, so that a step taking ACCESS
/// EXCLUSIVE never shares a transaction with a later step that scans (the
/// NOT VALID / VALIDATE split), and CONCURRENTLY and batched COMMITs work.
fn stage_file(stage: Stage, steps: &[&PlanStep], source: &str) -> String {
    let mut s = format!("-- {} — generated by `migrade plan --split` from {source}\n", stage.heading());
    let runnable: Vec<&&PlanStep> = steps.iter().filter(|p| !p.sql.is_empty()).collect();
    let one_tx = runnable.len() == 1 && !runnable[0].no_transaction;
    if one_tx {
        s.push_str("-- runs as one transaction: the migration tool's, or `psql --single-transaction -f` this file\n");
    } else {
        s.push_str(
            "-- run this file OUTSIDE a transaction block (psql in autocommit mode, or the migration tool's\n\
             -- no-transaction mode): each step below is its own transaction (CONCURRENTLY, batched COMMITs,\n\
             -- and a lock taken by one step must not be held while a later step scans)\n",
        );
    }
    for p in steps {
        s.push_str(&format!("\n-- {}", p.title));
        if let Some(l) = &p.lock {
            s.push_str(&format!(" [lock: {l}]"));
        }
        if p.irreversible {
            s.push_str(" [IRREVERSIBLE: backup required, needs approval]");
        }
        s.push('\n');
        if !p.sql.is_empty() {
            let sql = if one_tx {
                strip_tx_statements(&p.sql)
            } else if p.no_transaction {
                p.sql.clone()
            } else {
                own_transaction(&p.sql)
            };
            s.push_str(sql.trim_end());
            s.push('\n');
        }
    }
    s
}

pub fn run(file: &str, split: Option<&Path>, settings: &Settings) -> ExitCode {
    let report = match report_for(file, settings) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    if report.plan.is_empty() {
        println!("{}: grade {}; no expand/contract plan needed", report.path, report.grade);
        return ExitCode::SUCCESS;
    }
    let Some(dir) = split else {
        let mut out = String::new();
        crate::report::human::render_plan(&mut out, &report);
        print!("{out}");
        return ExitCode::SUCCESS;
    };
    let stages: Vec<Stage> = [Stage::Expand, Stage::Backfill, Stage::Contract]
        .into_iter()
        .filter(|s| report.plan.iter().any(|p| p.stage == *s && !p.sql.is_empty()))
        .collect();
    let targets: Vec<(Stage, PathBuf)> =
        stage_paths(file, &stages).into_iter().map(|(s, p)| (s, dir.join(p))).collect();
    if let Some((_, p)) = targets.iter().find(|(_, p)| p.exists()) {
        eprintln!("error: {} already exists; not overwriting (choose another --split directory)", p.display());
        return ExitCode::from(2);
    }
    for (stage, p) in &targets {
        let steps: Vec<&PlanStep> = report.plan.iter().filter(|s| s.stage == *stage).collect();
        let body = stage_file(*stage, &steps, file);
        if let Some(parent) = p.parent()
            && let Err(e) = std::fs::create_dir_all(parent)
        {
            eprintln!("error: cannot create {}: {e}", parent.display());
            return ExitCode::from(2);
        }
        let written = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(p)
            .and_then(|mut f| std::io::Write::write_all(&mut f, body.as_bytes()));
        if let Err(e) = written {
            eprintln!("error: cannot write {}: {e}", p.display());
            return ExitCode::from(2);
        }
        println!("wrote {} ({})", p.display(), stage.as_str());
    }
    for d in report.plan.iter().filter(|p| p.stage == Stage::Deploy) {
        println!("deploy after the expand file, before the later ones: {}", d.title);
    }
    ExitCode::SUCCESS
}
