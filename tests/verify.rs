//! `migrade verify` on the real PostgreSQL of this machine (Debian's postgresql
//! package; scripts/setup.sh --test installs it): fixture folders under
//! fixtures/verify/ are applied on a throwaway cluster the binary starts itself.
//!
//! - clean: every file applies, locks and the one rewrite agree (also the lock a
//!   DROP TRIGGER IF EXISTS of a missing trigger does not keep): no verify finding;
//! - apply_fails: the server's error on the right statement, and the next file still runs;
//! - downs: a down that forgets an index (left behind, and the up fails the second
//!   time) and one that restores a column with another type;
//! - disagrees: a known difference between the static facts and PostgreSQL 15 is
//!   reported with both sides (a rewrite that does not happen);
//! - through_code: an INSERT that writes no row takes no foreign-key check lock (not
//!   compared as one), and a lock taken only by a trigger's body is listed under
//!   `not_compared`, not reported;
//! - outside_tx: a statement the tool runs outside a transaction is observed alone in
//!   BEGIN/COMMIT, a CREATE INDEX CONCURRENTLY by polling pg_locks from a second session;
//! - rows: `--rows N` tops the tables up before each file, lists those it cannot fill
//!   and why, and the rewrite that follows runs on the rows;
//! - the cluster's folder is gone after the run, and after Ctrl-C.
//!
//! Without PostgreSQL the tests fail with how to install it, unless
//! `MIGRADE_SKIP_PG=1` (then they say so loudly and pass).
//!
//! Run: `cargo test --test verify`

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_migrade");

mod common;
use common::pg_installed;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/verify").join(name)
}

fn verify(folder: &str, extra: &[&str]) -> (Output, Value, String) {
    let out = Command::new(BIN)
        .args(["verify", "--no-config", "--format", "json"])
        .args(extra)
        .arg(fixture(folder))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {stderr}"));
    (out, v, stderr)
}

/// (file name, rule, level, line, message) of every verify-* finding.
fn verify_findings(v: &Value) -> Vec<(String, String, String, u64, String)> {
    let mut out = Vec::new();
    for f in v["files"].as_array().unwrap() {
        let name = Path::new(f["path"].as_str().unwrap()).file_name().unwrap().to_string_lossy().to_string();
        for x in f["findings"].as_array().unwrap() {
            let rule = x["rule"].as_str().unwrap();
            if rule.starts_with("verify-") {
                out.push((
                    name.clone(),
                    rule.to_string(),
                    x["level"].as_str().unwrap().to_string(),
                    x["line"].as_u64().unwrap(),
                    x["message"].as_str().unwrap().to_string(),
                ));
            }
        }
    }
    out
}

/// The summary line on stderr, and the cluster folder it names (which must be gone).
fn summary(stderr: &str) -> (String, PathBuf) {
    let line = stderr.lines().find(|l| l.starts_with("verify: ")).unwrap_or_else(|| panic!("no summary: {stderr}"));
    let folder = line.split("throwaway cluster in ").nth(1).and_then(|r| r.split(" — ").next()).unwrap();
    (line.to_string(), PathBuf::from(folder))
}

#[test]
fn a_folder_that_applies_cleanly_has_no_verify_finding() {
    if !pg_installed("a_folder_that_applies_cleanly_has_no_verify_finding") {
        return;
    }
    let (out, v, stderr) = verify("clean", &["--fail-on", "very-high"]);
    assert_eq!(verify_findings(&v), vec![], "{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let (line, folder) = summary(&stderr);
    assert!(line.contains("PostgreSQL) 15") || line.contains("PostgreSQL) 1"), "{line}");
    // The three ups applied; the first file's CREATE TABLE (alone, outside a transaction),
    // the second file's three statements and the third's two were
    // observed (the ADD COLUMN's lock and the type change's lock and rewrite agree with
    // lint's claims; the DROP TRIGGER IF EXISTS of a missing trigger keeps no lock).
    assert!(line.contains("3 up file(s) applied, 0 failed; 6 statement(s) observed (1 alone"), "{line}");
    assert!(line.contains(" 0 disagreement(s)"), "{line}");
    // Both downs restore the schema before their up, and the ups apply again.
    assert!(line.contains("2 down round trip(s), 0 incomplete"), "{line}");
    assert!(!folder.exists(), "the throwaway cluster's folder {} is left behind", folder.display());
    // The JSON `verify` section: per statement, the locks taken and the rewrite seen.
    let f2 = v["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"].as_str().unwrap().ends_with("0002_add_nickname.up.sql"))
        .unwrap();
    let sv = &f2["verify"];
    assert_eq!(sv["applied"], true);
    let st = sv["statements"].as_array().unwrap();
    assert_eq!(st.len(), 3);
    assert!(st.iter().all(|s| s["observed"] == true && s["ok"] == true && s["millis"].as_f64().is_some()));
    assert_eq!(st[1]["locks"], serde_json::json!([{"relation": "users", "lock": "ACCESS EXCLUSIVE"}]));
    assert_eq!(st[1]["rewritten"], serde_json::json!([]));
    assert_eq!(st[2]["rewritten"], serde_json::json!(["users"]));
    assert_eq!(sv["round_trip"]["complete"], true);
    assert_eq!(sv["round_trip"]["up_again"], true);
    assert!(sv["round_trip"]["down"].as_str().unwrap().ends_with("0002_add_nickname.down.sql"));
    // lint has no verify section.
    // lint's own findings are all there: verify adds, it does not replace.
    let lint =
        Command::new(BIN).args(["lint", "--no-config", "--format", "json"]).arg(fixture("clean")).output().unwrap();
    let lint: Value = serde_json::from_slice(&lint.stdout).unwrap();
    assert!(lint["files"].as_array().unwrap().iter().all(|f| f.get("verify").is_none()));
    let count = |v: &Value| {
        v["files"].as_array().unwrap().iter().map(|f| f["findings"].as_array().unwrap().len()).sum::<usize>()
    };
    assert_eq!(count(&lint), count(&v));
}

#[test]
fn a_statement_the_server_refuses_is_reported_and_the_next_file_still_runs() {
    if !pg_installed("a_statement_the_server_refuses_is_reported_and_the_next_file_still_runs") {
        return;
    }
    let (out, v, stderr) = verify("apply_fails", &[]);
    let found = verify_findings(&v);
    assert_eq!(found.len(), 1, "{found:#?}");
    let (file, rule, level, line, message) = &found[0];
    assert_eq!(
        (file.as_str(), rule.as_str(), level.as_str(), *line),
        ("0002_index_email.up.sql", "verify-apply-failed", "very-high", 2)
    );
    assert!(message.contains(r#"column "emial" does not exist (SQLSTATE 42703)"#), "{message}");
    assert!(message.contains("rolled back"), "{message}");
    let grade = |name: &str| {
        v["files"].as_array().unwrap().iter().find(|f| f["path"].as_str().unwrap().ends_with(name)).unwrap()["grade"]
            .clone()
    };
    assert_eq!(grade("0002_index_email.up.sql"), "very-high");
    assert_eq!(out.status.code(), Some(1));
    // 0003 ran after the failure, on the schema as it stood.
    let (line, _) = summary(&stderr);
    assert!(line.contains("2 up file(s) applied, 1 failed"), "{line}");
    // lint alone says nothing of the sort: the column name is only wrong on a server.
    let lint = Command::new(BIN)
        .args(["lint", "--no-config", "--format", "json"])
        .arg(fixture("apply_fails"))
        .output()
        .unwrap();
    let lint: Value = serde_json::from_slice(&lint.stdout).unwrap();
    assert!(verify_findings(&lint).is_empty());
}

#[test]
fn a_statement_that_needs_a_transaction_block_runs_without_one_of_verify_s_own() {
    if !pg_installed("a_statement_that_needs_a_transaction_block_runs_without_one_of_verify_s_own") {
        return;
    }
    // verify observes a statement the tool runs outside a transaction alone in BEGIN ...
    // COMMIT; LOCK TABLE must not get that transaction, or the server's refusal is lost.
    let (_, v, _) = verify("lock_outside_tx", &[]);
    let found: Vec<_> = verify_findings(&v).into_iter().filter(|f| f.1 == "verify-apply-failed").collect();
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!((found[0].0.as_str(), found[0].3), ("0002_lock_alone.up.sql", 2), "{found:#?}");
    assert!(found[0].4.contains("LOCK TABLE can only be used in transaction blocks (SQLSTATE 25P01)"), "{found:#?}");
    // In a two-statement query (an implicit transaction block) the same LOCK runs.
    assert!(!found.iter().any(|f| f.0 == "0003_lock_then_update.up.sql"), "{found:#?}");
}

#[test]
fn a_lock_or_rewrite_the_server_does_not_take_is_reported_with_both_sides() {
    if !pg_installed("a_lock_or_rewrite_the_server_does_not_take_is_reported_with_both_sides") {
        return;
    }
    let (_, v, stderr) = verify("disagrees", &[]);
    let found: Vec<(String, u64, String)> = verify_findings(&v)
        .into_iter()
        .map(|(f, r, l, line, m)| {
            assert_eq!((r.as_str(), l.as_str()), ("verify-disagrees", "high"));
            (f, line, m)
        })
        .collect();
    assert_eq!(
        found,
        vec![(
            "0002_known_gaps.up.sql".to_string(),
            6,
            "migrade said the statement rewrites orders; PostgreSQL kept its data files (no rewrite)".to_string()
        ),],
        "{stderr}"
    );
    let (line, _) = summary(&stderr);
    assert!(line.contains(" 1 disagreement(s)"), "{line}");
}

fn verify_text(folder: &str, format: &str) -> (String, String) {
    let out =
        Command::new(BIN).args(["verify", "--no-config", "--format", format]).arg(fixture(folder)).output().unwrap();
    (String::from_utf8_lossy(&out.stdout).to_string(), String::from_utf8_lossy(&out.stderr).to_string())
}

#[test]
fn human_and_markdown_show_a_verify_section_per_file() {
    if !pg_installed("human_and_markdown_show_a_verify_section_per_file") {
        return;
    }
    let (human, stderr) = verify_text("clean", "human");
    // Every up file is shown (0001 and 0003 have no finding of their own), each with its
    // statements, the locks taken, the rewrite, the time, and the round trip.
    assert!(human.contains("  verify: applied, 1 statement(s) run, 1 observed"), "{human}{stderr}");
    assert!(
        human.contains("    1 (line 1): alone in a transaction: ACCESS EXCLUSIVE users, ACCESS EXCLUSIVE users_pkey; "),
        "{human}"
    );
    assert!(human.contains("  verify: applied, 3 statement(s) run, 3 observed"), "{human}");
    assert!(human.contains("    2 (line 2): ACCESS EXCLUSIVE users; "), "{human}");
    let third = human.lines().find(|l| l.starts_with("    3 (line 3): ")).unwrap_or_else(|| panic!("{human}"));
    assert!(third.contains("rewrote users;") && third.ends_with(" ms"), "{third}");
    assert!(human.contains("0003_drop_missing_trigger.up.sql: grade"), "{human}");
    assert_eq!(human.matches("round trip with ").count(), 2, "{human}");
    assert!(human.contains("0002_add_nickname.down.sql: complete"), "{human}");
    // lint shows none of it.
    let lint = Command::new(BIN).args(["lint", "--no-config"]).arg(fixture("clean")).output().unwrap();
    assert!(!String::from_utf8_lossy(&lint.stdout).contains("verify:"));

    let (md, _) = verify_text("clean", "markdown");
    let section = md.split("### Verify").nth(1).unwrap_or_else(|| panic!("no verify section: {md}"));
    let rows: Vec<&str> = section.lines().filter(|l| l.starts_with("| `")).collect();
    assert_eq!(rows.len(), 3, "{section}");
    assert!(
        rows[1].contains("| yes | 1: no new lock; ") && rows[1].contains("<br>2: ACCESS EXCLUSIVE users; "),
        "{}",
        rows[1]
    );
    assert!(
        rows[1].contains("rewrote users;") && rows[1].ends_with("0002_add_nickname.down.sql: complete |"),
        "{}",
        rows[1]
    );
    assert!(rows[2].ends_with("| _no down_ |"), "{}", rows[2]);

    // An incomplete round trip says why, in both formats.
    let (human, _) = verify_text("downs", "human");
    assert!(human.contains("0002_email_index.down.sql: incomplete ("), "{human}");
    assert!(human.contains("the up fails when applied again"), "{human}");
}

#[test]
fn no_server_is_started_when_no_up_file_is_found() {
    if !pg_installed("no_server_is_started_when_no_up_file_is_found") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN).args(["verify", "--no-config"]).arg(dir.path()).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("verify: no up migration file to apply; no PostgreSQL server was started"), "{stderr}");
    assert!(!stderr.contains("throwaway cluster"), "{stderr}");
    assert_eq!(out.status.code(), Some(2), "no migration files found is an error, as for lint: {stderr}");
    // Only a down file: nothing to apply either.
    std::fs::write(dir.path().join("0001_x.down.sql"), "DROP TABLE x;\n").unwrap();
    let out = Command::new(BIN).args(["verify", "--no-config"]).arg(dir.path()).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no PostgreSQL server was started"), "{stderr}");
}

#[test]
fn statements_outside_a_transaction_are_observed_alone_or_by_polling() {
    if !pg_installed("statements_outside_a_transaction_are_observed_alone_or_by_polling") {
        return;
    }
    let (_, v, stderr) = verify("outside_tx", &[]);
    assert_eq!(verify_findings(&v), vec![], "{stderr}");
    let (line, _) = summary(&stderr);
    assert!(
        line.contains("4 statement(s) observed (1 alone in a transaction of their own, 1 by polling pg_locks)"),
        "{line}"
    );
    // 0001: two statements, wrapped by the tool: the file's transaction.
    let create = verified(&v, "0001_create_items.up.sql");
    assert!(create.iter().all(|s| s["observed_by"] == "transaction"), "{create:#?}");
    // The CREATE TABLE's ACCESS EXCLUSIVE is held until the file's COMMIT: through the
    // 50,000-row INSERT after it.
    let ms = |s: &Value, k: &str| s[k].as_f64().unwrap_or_else(|| panic!("{k} in {s:#?}"));
    assert!(ms(&create[0], "held_millis") >= ms(&create[0], "millis") + ms(&create[1], "millis"), "{create:#?}");
    assert!(ms(&create[1], "held_millis") >= ms(&create[1], "millis"), "{create:#?}");
    // 0002: CREATE INDEX CONCURRENTLY refuses a transaction block: run as the tool runs
    // it, its SHARE UPDATE EXCLUSIVE on items sampled from a second session.
    let index = verified(&v, "0002_index_name.up.sql");
    assert_eq!(index[0]["observed_by"], "polled", "{index:#?}");
    assert!(
        index[0]["locks"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!({"relation": "items", "lock": "SHARE UPDATE EXCLUSIVE"})),
        "{index:#?}"
    );
    // The index exists afterwards: the statement really ran outside a transaction.
    // 0003: a single ALTER the tool runs on its own, observed alone in BEGIN/COMMIT.
    let note = verified(&v, "0003_add_note.up.sql");
    assert_eq!(note[0]["observed_by"], "own_transaction");
    assert!(ms(&note[0], "held_millis") >= ms(&note[0], "millis"), "{note:#?}");
    assert_eq!(note[0]["locks"], serde_json::json!([{"relation": "items", "lock": "ACCESS EXCLUSIVE"}]));
    // The clean fixture's single CREATE TABLE, outside a transaction, is observed too,
    // and a wrapped statement that commits leaves its effect (0002 adds to that table).
    let (_, v, stderr) = verify("clean", &[]);
    assert_eq!(verify_findings(&v), vec![], "{stderr}");
    assert_eq!(verified(&v, "0001_create_users.up.sql")[0]["observed_by"], "own_transaction");
}

#[test]
fn rows_fills_the_tables_before_each_file_and_says_which_it_cannot() {
    if !pg_installed("rows_fills_the_tables_before_each_file_and_says_which_it_cannot") {
        return;
    }
    let (_, v, stderr) = verify("rows", &["--rows", "20000"]);
    assert_eq!(verify_findings(&v), vec![], "{stderr}");
    let (line, _) = summary(&stderr);
    assert!(line.ends_with("; --rows 20000: 2 table(s) filled, 2 could not be filled"), "{line}");
    let file = |name: &str| {
        v["files"].as_array().unwrap().iter().find(|f| f["path"].as_str().unwrap().ends_with(name)).unwrap()["verify"]
            .clone()
    };
    // Before 0001 there is no table; before 0002 the four exist.
    assert_eq!(file("0001_create.up.sql")["fill"], serde_json::json!({"filled": [], "not_filled": []}));
    let fill = &file("0002_narrow_email.up.sql")["fill"];
    // accounts: serial id and created_at from their defaults, a unique email, the enum;
    // then notes, whose foreign key takes accounts' ids.
    assert_eq!(
        fill["filled"],
        serde_json::json!([{"table": "accounts", "rows_added": 20000}, {"table": "notes", "rows_added": 20000}]),
        "{fill:#?}"
    );
    let why = |t: &str| {
        fill["not_filled"].as_array().unwrap().iter().find(|x| x["table"] == t).unwrap_or_else(|| panic!("{fill:#?}"))
            ["why"]
            .as_str()
            .unwrap()
            .to_string()
    };
    // orders: its CHECK refuses the generated kind; slots: no generator for int4range.
    assert!(why("orders").contains("orders_kind_check"), "{}", why("orders"));
    assert_eq!(why("slots"), "no generated value for NOT NULL column during of type int4range");
    // The rewrite ran on 20,000 rows: observed, and its ACCESS EXCLUSIVE held as long.
    let st = &file("0002_narrow_email.up.sql")["statements"][0];
    assert_eq!(st["rewritten"], serde_json::json!(["accounts"]), "{st:#?}");
    // Its size before it, for extrapolation: the 20,000 rows (--rows analyses them).
    let sizes = st["tables"].as_array().unwrap();
    assert_eq!(sizes.len(), 1, "{st:#?}");
    assert_eq!((&sizes[0]["relation"], &sizes[0]["rows"]), (&serde_json::json!("accounts"), &serde_json::json!(20000)));
    assert!(sizes[0]["bytes"].as_u64().unwrap() > 20000 * 20, "{st:#?}");
    assert!(st["held_millis"].as_f64().unwrap() >= st["millis"].as_f64().unwrap(), "{st:#?}");
    // Without --rows nothing is filled and the JSON has no fill.
    let (_, v, stderr) = verify("rows", &[]);
    assert!(!stderr.contains("--rows"), "{stderr}");
    assert!(v["files"].as_array().unwrap().iter().all(|f| f["verify"].get("fill").is_none()));
}

/// The statements of a file, as the JSON verify section has them.
fn verified<'a>(v: &'a Value, name: &str) -> &'a Vec<Value> {
    v["files"].as_array().unwrap().iter().find(|f| f["path"].as_str().unwrap().ends_with(name)).unwrap()["verify"]
        ["statements"]
        .as_array()
        .unwrap()
}

#[test]
fn foreign_key_checks_count_only_for_written_rows_and_trigger_bodies_are_listed_not_compared() {
    if !pg_installed("foreign_key_checks_count_only_for_written_rows_and_trigger_bodies_are_listed_not_compared") {
        return;
    }
    let (_, v, stderr) = verify("through_code", &[]);
    // lint claims ROW SHARE on crates and keywords for every INSERT INTO crates_keywords
    // (the foreign-key checks); the server takes it only when a row is written.
    assert_eq!(verify_findings(&v), vec![], "{stderr}");
    let (line, _) = summary(&stderr);
    assert!(line.contains("3 up file(s) applied, 0 failed; 12 statement(s) observed"), "{line}");
    let fix = verified(&v, "0002_fix_data.up.sql");
    assert_eq!(fix[0]["rows"], 0, "{fix:#?}");
    assert!(!fix[0]["locks"].as_array().unwrap().iter().any(|l| l["relation"] == "crates"), "{fix:#?}");
    assert_eq!(fix[3]["rows"], 1);
    assert!(
        fix[3]["locks"].as_array().unwrap().contains(&serde_json::json!({"relation": "crates", "lock": "ROW SHARE"}))
    );
    // The trigger's body reads crates: observed, listed as not compared, and why.
    let reserve = verified(&v, "0003_reserve.up.sql");
    assert_eq!(
        reserve[1]["not_compared"],
        serde_json::json!([{"relation": "crates", "lock": "ACCESS SHARE",
            "why": "reached through the body of trigger reserved_names.reserved_names_check"}])
    );
    assert!(
        reserve[1]["locks"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!({"relation": "crates", "lock": "ACCESS SHARE"}))
    );
}

#[test]
fn ctrl_c_stops_the_server_and_deletes_its_folder() {
    if !pg_installed("ctrl_c_stops_the_server_and_deletes_its_folder") {
        return;
    }
    // A private TMPDIR the postgres user can traverse (the cluster's folder goes in it).
    let tmp = tempfile::tempdir_in("/tmp").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let child = Command::new(BIN)
        .args(["verify", "--no-config", "--format", "json"])
        .arg(fixture("slow"))
        .env("TMPDIR", tmp.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the server runs (its socket is there; initdb's bootstrap backend also
    // writes a postmaster.pid, the socket comes only from the real server) and the
    // statement has begun.
    let t0 = Instant::now();
    let pid_file = loop {
        let found = std::fs::read_dir(tmp.path()).unwrap().flatten().map(|e| e.path()).find(|d| {
            std::fs::read_dir(d)
                .map(|rd| rd.flatten().any(|e| e.file_name().to_string_lossy().starts_with(".s.PGSQL.")))
                .unwrap_or(false)
        });
        if let Some(d) = found {
            break d.join("data/postmaster.pid");
        }
        assert!(t0.elapsed() < Duration::from_secs(60), "the server did not start");
        std::thread::sleep(Duration::from_millis(100));
    };
    std::thread::sleep(Duration::from_secs(2));
    let postmaster =
        std::fs::read_to_string(&pid_file).unwrap_or_default().lines().next().unwrap_or("").trim().to_string();
    assert!(!postmaster.is_empty());
    let st = Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(st.success());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("interrupted; stopping the throwaway PostgreSQL"), "{stderr}");
    let left: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().flatten().map(|e| e.path()).collect();
    assert!(left.is_empty(), "left behind: {left:?}");
    // The postmaster is gone too (a zombie waiting for its parent to reap it is gone).
    let t0 = Instant::now();
    let alive = || {
        std::fs::read_to_string(format!("/proc/{postmaster}/status"))
            .is_ok_and(|s| s.lines().any(|l| l.starts_with("State:") && !l.contains("Z (zombie)")))
    };
    while alive() && t0.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(!alive(), "postgres {postmaster} still runs");
}

#[test]
fn a_down_that_does_not_restore_the_schema_is_reported_with_what_differs() {
    if !pg_installed("a_down_that_does_not_restore_the_schema_is_reported_with_what_differs") {
        return;
    }
    let (_, v, stderr) = verify("downs", &[]);
    let found: Vec<(String, String)> = verify_findings(&v)
        .into_iter()
        .map(|(f, r, l, _, m)| {
            assert_eq!((r.as_str(), l.as_str()), ("verify-down-incomplete", "high"), "{m}");
            (f, m)
        })
        .collect();
    let on = |file: &str| found.iter().filter(|(f, _)| f == file).map(|(_, m)| m.as_str()).collect::<Vec<_>>();
    // 0001's down (DROP TABLE) restores the empty schema: nothing.
    assert!(on("0001_create_users.down.sql").is_empty(), "{found:#?}");
    // 0002's down forgets the index: it is left behind, and the up fails the second time.
    let idx = on("0002_email_index.down.sql");
    assert_eq!(idx.len(), 2, "{idx:#?}");
    assert!(
        idx[0].contains("has what it did not have before the up") && idx[0].contains("users_email_idx"),
        "{idx:#?}"
    );
    assert!(idx[1].contains(r#"the up fails when applied again: PostgreSQL refused statement 1: relation "users_email_idx" already exists"#), "{idx:#?}");
    // 0003's down restores the column with another type.
    let col = on("0003_widen_email.down.sql");
    assert_eq!(
        col,
        vec![
            "after the up and this down, the schema lacks what it had before the up: column public.users.email text NOT NULL",
            "after the up and this down, the schema has what it did not have before the up: column public.users.email character varying(100) NOT NULL",
        ]
    );
    // 0004's down drops the whole table: reported, and (the round trip ran on a copy of
    // the database) 0005 still applies on the main line.
    let all = on("0004_add_age.down.sql");
    assert!(
        all.iter()
            .any(|m| m.contains("lacks what it had before the up: ")
                && m.contains("column public.users.id bigint NOT NULL")),
        "{all:#?}"
    );
    assert!(on("0005_age_index.up.sql").is_empty(), "{found:#?}");
    let (line, _) = summary(&stderr);
    assert!(line.contains("5 up file(s) applied, 0 failed"), "{line}");
    assert!(line.contains("4 down round trip(s), 3 incomplete"), "{line}");
}

#[allow(dead_code)]
#[path = "pg/server.rs"]
mod server;

#[test]
fn a_scratch_database_is_used_only_when_empty_or_allowed() {
    if !pg_installed("a_scratch_database_is_used_only_when_empty_or_allowed") {
        return;
    }
    // Someone's own server (the test harness's), with an empty database `scratch`.
    let bins = server::find_bins().expect("server binaries");
    let srv = server::Server::start(&bins).expect("server");
    let made = srv.sql("CREATE DATABASE scratch;");
    assert!(made.ok, "{}", made.stderr);
    let url = format!("host={} port={} user=postgres dbname=scratch", srv.socket_dir().display(), srv.port());
    let (out, v, stderr) = verify("clean", &["--fail-on", "very-high", "--database-url", &url]);
    assert_eq!(verify_findings(&v), vec![], "{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains(", scratch database scratch — 3 up file(s) applied, 0 failed"), "{stderr}");
    // The migrations are in it now: a second run is refused, the database untouched ...
    let (out, v2) = {
        let o = Command::new(BIN)
            .args(["verify", "--no-config", "--format", "json", "--database-url", &url])
            .arg(fixture("clean"))
            .output()
            .unwrap();
        let e = String::from_utf8_lossy(&o.stderr).to_string();
        (o, e)
    };
    assert_eq!(out.status.code(), Some(2), "{v2}");
    assert!(v2.contains("already holds") && v2.contains("--allow-nonempty"), "{v2}");
    // ... unless allowed: then the first CREATE TABLE fails, as it would on that database.
    let (_, v, stderr) = verify("clean", &["--database-url", &url, "--allow-nonempty"]);
    let found = verify_findings(&v);
    assert!(
        found.iter().any(|(_, r, _, _, m)| r == "verify-apply-failed" && m.contains("already exists")),
        "{stderr}\n{found:#?}"
    );
    // The postgres database of that server was never touched.
    let tables = srv.sql("SELECT count(*) FROM pg_tables WHERE schemaname = 'public';");
    assert_eq!(tables.stdout.trim(), "0");
}
