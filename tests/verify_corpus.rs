//! `migrade verify` over the corpus folders that apply on vanilla PostgreSQL 15
//! (issue 11's list; `../shared/corpus`): zero `verify-disagrees`, that is, on every
//! statement observed in a transaction, the locks and rewrites PostgreSQL took are
//! the ones migrade's static facts claim (locks reached only through a trigger or
//! function body are listed in the JSON as `not_compared`, see the README).
//!
//! Prints, per folder: up files applied / failed, statements observed, disagreements,
//! down round trips / incomplete, time. Any disagreement fails the test and is
//! printed with its file, line and both sides.
//!
//! Needs the corpus: without `../shared/corpus` the test fails, unless
//! `MIGRADE_SKIP_SHARED=1` (then it says so loudly and passes), as tests/cli.rs's
//! corpus test. Needs PostgreSQL's server binaries as tests/verify.rs
//! (`MIGRADE_SKIP_PG=1` passes loudly without them). `MIGRADE_CORPUS_JOBS` (default 2)
//! folders run at once, biggest first.
//!
//! Run: `cargo test --test verify_corpus -- --nocapture`

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::Instant;

mod common;
use common::pg_installed;

const BIN: &str = env!("CARGO_BIN_EXE_migrade");

/// The folders, biggest first (they run `MIGRADE_CORPUS_JOBS` at a time).
const FOLDERS: &[&str] = &[
    "ory__kratos/persistence/sql/migrations/sql",
    "rust-lang__crates.io/migrations",
    "ente-io__ente/server/migrations",
    "harness__gitness/app/store/database/migrate/postgres",
    "triggerdotdev__trigger.dev/internal-packages/database",
    "ory__kratos/persistence/sql/migrations/legacy",
    "MarquezProject__marquez/api/src/main/resources/marquez/db/migration",
    "temporalio__temporal/schema/postgresql/v12/temporal",
    "temporalio__temporal/schema/postgresql/v12/visibility",
    "triggerdotdev__trigger.dev/internal-packages/run-ops-database",
];

/// One folder's run.
struct Run {
    folder: String,
    /// The summary line's counts, after the server's description.
    line: String,
    /// (file, line, message) of every verify-disagrees.
    disagreements: Vec<(String, u64, String)>,
    not_compared: usize,
    seconds: f64,
}

fn run(corpus: &Path, folder: &str) -> Run {
    let t0 = Instant::now();
    let out = Command::new(BIN)
        .args(["verify", "--no-config", "--format", "json"])
        .arg(corpus.join(folder))
        .output()
        .expect("run migrade verify");
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(matches!(out.status.code(), Some(0 | 1)), "{folder}: migrade verify failed: {:?}\n{stderr}", out.status);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{folder}: not JSON ({e}): {stderr}"));
    let line = stderr
        .lines()
        .find(|l| l.starts_with("verify: "))
        .unwrap_or_else(|| panic!("{folder}: no summary line: {stderr}"));
    let line = line.split(" — ").nth(1).unwrap_or(line).to_string();
    let mut disagreements = Vec::new();
    let mut not_compared = 0;
    for f in v["files"].as_array().expect("files") {
        let path = f["path"].as_str().unwrap_or_default();
        let name = path.split(folder).nth(1).unwrap_or(path).trim_start_matches('/').to_string();
        for x in f["findings"].as_array().expect("findings") {
            if x["rule"] == "verify-disagrees" {
                disagreements.push((
                    name.clone(),
                    x["line"].as_u64().unwrap_or(0),
                    x["message"].as_str().unwrap_or_default().to_string(),
                ));
            }
        }
        if let Some(st) = f["verify"]["statements"].as_array() {
            not_compared += st.iter().filter_map(|s| s["not_compared"].as_array()).map(|a| a.len()).sum::<usize>();
        }
    }
    Run { folder: folder.to_string(), line, disagreements, not_compared, seconds: t0.elapsed().as_secs_f64() }
}

/// A count in the summary line: the number before `label`.
fn count(line: &str, label: &str) -> usize {
    let i = line.find(label).unwrap_or_else(|| panic!("no `{label}` in {line}"));
    line[..i].split_whitespace().last().and_then(|n| n.parse().ok()).unwrap_or_else(|| panic!("{line}"))
}

#[test]
fn corpus_folders_verify_without_disagreement() {
    let corpus = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus"));
    if !corpus.is_dir() {
        assert!(
            std::env::var("MIGRADE_SKIP_SHARED").is_ok(),
            "../shared/corpus is missing: set MIGRADE_SKIP_SHARED=1 to skip this test outside CI"
        );
        eprintln!("\n!!!!!!!! SKIPPED verify_corpus: ../shared/corpus is missing (MIGRADE_SKIP_SHARED=1) !!!!!!!!\n");
        return;
    }
    if !pg_installed("verify_corpus") {
        return;
    }
    let jobs: usize = std::env::var("MIGRADE_CORPUS_JOBS").ok().and_then(|j| j.parse().ok()).unwrap_or(2).max(1);
    let queue = Mutex::new(FOLDERS.iter().enumerate());
    let results = Mutex::new(Vec::new());
    let t0 = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..jobs {
            s.spawn(|| {
                loop {
                    let next = queue.lock().unwrap().next();
                    let Some((i, folder)) = next else { break };
                    let r = run(&corpus, folder);
                    results.lock().unwrap().push((i, r));
                }
            });
        }
    });
    let mut results = results.into_inner().unwrap();
    results.sort_by_key(|(i, _)| *i);
    let mut total = 0;
    for (_, r) in &results {
        println!(
            "{}: {} ({} lock(s) only through trigger/function bodies, not compared) in {:.0} s",
            r.folder, r.line, r.not_compared, r.seconds
        );
        for (file, line, message) in &r.disagreements {
            println!("    {file}:{line}: {message}");
        }
        total += r.disagreements.len();
        // Not vacuous: each folder applied files and the summary counts what the JSON has.
        assert!(count(&r.line, "up file(s) applied") > 0, "{}: nothing applied: {}", r.folder, r.line);
        assert_eq!(count(&r.line, "disagreement(s)"), r.disagreements.len(), "{}", r.folder);
    }
    println!(
        "verify_corpus: {} folders in {:.0} s, {total} disagreement(s)",
        results.len(),
        t0.elapsed().as_secs_f64()
    );
    let observed: usize = results.iter().map(|(_, r)| count(&r.line, "statement(s) observed")).sum();
    assert!(observed > 3000, "only {observed} statements observed in a transaction over the corpus");
    assert_eq!(total, 0, "migrade verify found {total} disagreement(s) with the static facts (printed above)");
}
