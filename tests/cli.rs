//! End-to-end tests of `migrade lint` as a user runs it: grades, the JSON
//! contract, exit codes, spans, ordering, schema history, bad input.

use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_migrade");

fn fixture(p: &str) -> String {
    format!("{}/fixtures/{p}", env!("CARGO_MANIFEST_DIR"))
}

fn run(args: &[&str]) -> Output {
    Command::new(BIN).args(args).env("NO_COLOR", "1").output().expect("run migrade")
}

fn json(args: &[&str]) -> (Value, i32) {
    let mut a = vec!["lint", "--format", "json", "--no-config"];
    a.extend_from_slice(args);
    let out = run(&a);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (v, out.status.code().unwrap_or(-1))
}

fn file<'a>(v: &'a Value, suffix: &str) -> &'a Value {
    v["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"].as_str().unwrap().ends_with(suffix))
        .unwrap_or_else(|| panic!("no file {suffix}"))
}

fn rules(f: &Value) -> Vec<&str> {
    f["findings"].as_array().unwrap().iter().map(|x| x["rule"].as_str().unwrap()).collect()
}

#[test]
fn one_grade_per_risk_level_with_its_advice() {
    let cases = [
        ("low", "automatic", "optional", false),
        ("medium", "review-then-automatic", "recommended", true),
        ("high", "manual", "required", true),
        ("very-high", "manual", "required", true),
    ];
    for (level, deploy, backup, review) in cases {
        let (v, code) = json(&[&fixture(&format!("grades/{level}.sql"))]);
        let f = &v["files"][0];
        assert_eq!(f["grade"], level, "{level}: {f:#}");
        assert_eq!(f["advice"]["deploy"], deploy);
        assert_eq!(f["advice"]["backup"], backup);
        assert_eq!(f["advice"]["manual_review"], review);
        let expected_code = if level == "high" || level == "very-high" { 1 } else { 0 };
        assert_eq!(code, expected_code, "{level}");
    }
}

#[test]
fn json_contract_fields() {
    let (v, _) = json(&[&fixture("grades/very-high.sql")]);
    assert_eq!(v["version"], 1);
    assert!(v["errors"].as_array().unwrap().is_empty());
    let f = &v["files"][0];
    for k in ["path", "grade", "advice", "statements", "findings", "plan"] {
        assert!(f.get(k).is_some(), "missing files[].{k}");
    }
    for k in ["deploy", "backup", "manual_review"] {
        assert!(f["advice"].get(k).is_some(), "missing advice.{k}");
    }
    let s = &f["statements"][1];
    for k in ["index", "line", "column", "end_line", "end_column", "summary", "level", "effects"] {
        assert!(s.get(k).is_some(), "missing statements[].{k}");
    }
    assert_eq!(s["effects"]["table"], "users");
    assert_eq!(s["effects"]["lock"], "ACCESS EXCLUSIVE");
    assert_eq!(s["effects"]["data_loss"], true);
    assert_eq!(s["effects"]["breaks_running_code"], true);
    assert_eq!(s["effects"]["rewrite"], false);
    assert!(s["effects"]["other_locks"].is_array());
    assert_eq!(s["summary"], "ALTER TABLE users DROP COLUMN");
    let x = f["findings"].as_array().unwrap().iter().find(|x| x["rule"] == "drop-column").unwrap();
    for k in ["rule", "level", "statement", "line", "column", "end_line", "end_column", "message", "help"] {
        assert!(x.get(k).is_some(), "missing findings[].{k}");
    }
    assert_eq!(x["level"], "very-high");
    assert_eq!(x["statement"], 1);
    assert_eq!((x["line"].as_u64(), x["column"].as_u64()), (Some(2), Some(1)));
    assert_eq!(x["end_column"], 39, "the span ends at the semicolon, inclusive");
    let stages: Vec<&str> = f["plan"].as_array().unwrap().iter().map(|p| p["stage"].as_str().unwrap()).collect();
    assert!(stages.contains(&"deploy") && stages.contains(&"contract"), "{stages:?}");
    assert!(
        f["plan"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["sql"].as_str().unwrap().contains("ALTER TABLE users DROP COLUMN nickname"))
    );
}

#[test]
fn exit_codes_and_fail_on() {
    assert_eq!(json(&[&fixture("grades/medium.sql")]).1, 0);
    assert_eq!(json(&["--fail-on", "medium", &fixture("grades/medium.sql")]).1, 1);
    assert_eq!(json(&["--fail-on", "very-high", &fixture("grades/high.sql")]).1, 0);
    // A missing path is an operational error, but the other files are still linted first.
    let (v, code) = json(&[&fixture("grades/low.sql"), "/nonexistent/dir/x.sql"]);
    assert_eq!(code, 2);
    assert_eq!(v["files"].as_array().unwrap().len(), 1);
    assert!(v["errors"][0]["path"].as_str().unwrap().contains("/nonexistent/dir/x.sql"));
    // A bad flag is exit 2 with a message that names the fix.
    let out = run(&["lint", "--fail-on", "extreme", &fixture("grades/low.sql")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("low, medium, high, very-high"));
}

#[test]
fn stdin_glob_and_several_files() {
    let mut child = Command::new(BIN)
        .args(["lint", "--format", "json", "--no-config", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(b"DROP TABLE t;\n").unwrap();
    let out = child.wait_with_output().unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["files"][0]["path"], "-");
    assert_eq!(v["files"][0]["grade"], "very-high");
    assert_eq!(out.status.code(), Some(1));

    let glob = format!("{}/fixtures/grades/*.sql", env!("CARGO_MANIFEST_DIR"));
    let (v, _) = json(&[&glob]);
    assert_eq!(v["files"].as_array().unwrap().len(), 4);
    let (v, _) = json(&[&fixture("grades/low.sql"), &fixture("grades/high.sql")]);
    assert_eq!(v["files"].as_array().unwrap().len(), 2);
}

#[test]
fn unparsable_statement_between_two_risky_ones() {
    let (v, _) = json(&[&fixture("rules/unparsable.sql")]);
    let f = &v["files"][0];
    let r = rules(f);
    assert_eq!(r.iter().filter(|r| **r == "drop-table").count(), 2, "{r:?}");
    let bad = f["findings"].as_array().unwrap().iter().find(|x| x["rule"] == "unparsable-statement").unwrap();
    assert_eq!(bad["level"], "medium");
    assert_eq!(bad["line"], 3);
    assert!(bad["message"].as_str().unwrap().starts_with("could not analyze: syntax error"));
    // An unreadable DROP TABLE keeps its kind's level.
    let worse =
        f["findings"].as_array().unwrap().iter().filter(|x| x["rule"] == "unparsable-statement").nth(1).unwrap();
    assert_eq!(worse["level"], "very-high");
}

#[test]
fn spans_with_crlf_bom_and_korean_comments() {
    let (v, _) = json(&[&fixture("spans/crlf_bom_korean.sql")]);
    let f = &v["files"][0];
    let drop = f["findings"].as_array().unwrap().iter().find(|x| x["rule"] == "drop-table").unwrap();
    // Line 3 is `/* 설명: 인덱스 */ DROP TABLE sessions;`: the statement starts after the comment.
    assert_eq!((drop["line"].as_u64(), drop["column"].as_u64()), (Some(3), Some(15)));
    assert_eq!(drop["end_column"], 34);
    let col = f["findings"].as_array().unwrap().iter().find(|x| x["rule"] == "drop-column").unwrap();
    assert_eq!(
        (col["line"].as_u64(), col["column"].as_u64(), col["end_column"].as_u64()),
        (Some(4), Some(3), Some(35))
    );
    assert!(col["message"].as_str().unwrap().contains("별명"));
    let s0 = &f["statements"][0];
    assert_eq!((s0["line"].as_u64(), s0["column"].as_u64()), (Some(2), Some(1)));
}

#[test]
fn migration_order() {
    let (v, _) = json(&[&fixture("order/numeric")]);
    let names: Vec<&str> = v["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| Path::new(f["path"].as_str().unwrap()).file_name().unwrap().to_str().unwrap())
        .collect();
    assert_eq!(names, ["1_c.sql", "2_a.sql", "10_b.sql"]);
    let (v, _) = json(&[&fixture("order/flyway")]);
    let names: Vec<&str> = v["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| Path::new(f["path"].as_str().unwrap()).file_name().unwrap().to_str().unwrap())
        .collect();
    assert_eq!(names, ["V1__a.sql", "V1_2__b.sql", "V1_10__c.sql", "V2__d.sql", "R__views.sql"]);
}

#[test]
fn schema_history_feeds_later_files() {
    let (v, _) = json(&[&fixture("history")]);
    let f2 = file(&v, "0002_alter.sql");
    let levels: Vec<(&str, &str)> = f2["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| (x["rule"].as_str().unwrap(), x["level"].as_str().unwrap()))
        .collect();
    // varchar(50) -> varchar(100) and numeric(10,2) -> numeric(12,2): no rewrite, medium.
    assert_eq!(levels.iter().filter(|(r, l)| *r == "change-column-type" && *l == "medium").count(), 2, "{levels:?}");
    // text -> varchar(20): rewrite, high.
    assert_eq!(levels.iter().filter(|(r, l)| *r == "change-column-type" && *l == "high").count(), 1, "{levels:?}");
    let f4 = file(&v, "0004_not_null.sql");
    let nn = f4["findings"].as_array().unwrap().iter().find(|x| x["rule"] == "set-not-null").unwrap();
    assert_eq!(nn["level"], "low", "a validated CHECK (note IS NOT NULL) exists: {nn:#}");
    let s = &f4["statements"][1]["effects"];
    assert_eq!(s["scan"], false);
    // timestamp -> timestamptz rewrites unless the session is UTC.
    let tz = f4["findings"].as_array().unwrap().iter().find(|x| x["rule"] == "change-column-type").unwrap();
    assert_eq!(tz["level"], "high");
    // With --pg-version 11 the CHECK cannot be used: the scan is back.
    let (v, _) = json(&["--pg-version", "11", &fixture("history")]);
    let nn = file(&v, "0004_not_null.sql")["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["rule"] == "set-not-null")
        .unwrap()
        .clone();
    assert_eq!(nn["level"], "high");
}

#[test]
fn human_output_points_at_the_statement() {
    let out = run(&["lint", "--no-config", &fixture("grades/very-high.sql")]);
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(s.contains("grade VERY-HIGH — deploy: manual, backup: required, manual review: yes"), "{s}");
    assert!(s.contains("drop-column [very-high]"), "{s}");
    assert!(s.contains("grades/very-high.sql:2:1"), "{s}");
    assert!(!s.contains("\u{1b}["), "no colour when not a terminal / NO_COLOR");
}

#[test]
fn corpus_lints_to_the_end() {
    let corpus = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus");
    if !Path::new(corpus).is_dir() {
        assert!(
            std::env::var("MIGRADE_SKIP_SHARED").is_ok(),
            "../shared/corpus is missing: set MIGRADE_SKIP_SHARED=1 to skip this test outside CI"
        );
        eprintln!("SKIPPED: ../shared/corpus is missing (MIGRADE_SKIP_SHARED=1)");
        return;
    }
    let out = Command::new(BIN).args(["lint", "--format", "json", "--no-config", corpus]).output().unwrap();
    let code = out.status.code();
    assert!(code == Some(0) || code == Some(1), "exit {code:?}: {}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let again = Command::new(BIN).args(["lint", "--format", "json", "--no-config", corpus]).output().unwrap();
    assert!(again.stdout == out.stdout, "two runs over the corpus must give byte-identical JSON");
    let mut on_disk = Vec::new();
    walk_sql(Path::new(corpus), &mut on_disk);
    let mut reported: Vec<String> =
        v["files"].as_array().unwrap().iter().map(|f| f["path"].as_str().unwrap().to_string()).collect();
    // ory popx folders: a dialect-free file whose version has a .postgres. file is
    // not run on PostgreSQL (popx runs the .postgres. one), so it is not reported.
    let replaced = |p: &String| {
        let Some(m) = migrade::discover::popx_name(Path::new(p).file_name().unwrap().to_str().unwrap()) else {
            return false;
        };
        m.dialect.is_none() && {
            let dir = Path::new(p).parent().unwrap();
            let dir_s = dir.to_string_lossy();
            on_disk.iter().any(|o| {
                o.starts_with(dir_s.as_ref())
                    && migrade::discover::popx_name(Path::new(o).file_name().unwrap().to_str().unwrap()).is_some_and(
                        |n| n.version == m.version && n.up == m.up && n.dialect.as_deref() == Some("postgres"),
                    )
            })
        }
    };
    let expected: Vec<String> = on_disk.iter().filter(|p| !replaced(p)).cloned().collect();
    eprintln!(
        "corpus: {} dialect-free popx files replaced by their .postgres. version",
        on_disk.len() - expected.len()
    );
    let mut expected = expected;
    expected.sort();
    reported.sort();
    assert_eq!(reported, expected, "one JSON entry per .sql file PostgreSQL runs, each file once");
    assert!(v["errors"].as_array().unwrap().is_empty());
    // Every statement the splitter finds is in the report, analysed or, when it cannot
    // be parsed, with an `unparsable-statement` finding at its location.
    let (mut statements, mut unparsable) = (0, 0);
    for f in v["files"].as_array().unwrap() {
        let path = f["path"].as_str().unwrap();
        let text = std::fs::read_to_string(path).unwrap();
        let split = migrade::split::split(&text);
        let reported = f["statements"].as_array().unwrap();
        assert_eq!(reported.len(), split.statements.len(), "{path}: every statement reported");
        for s in reported {
            assert!(s["line"].as_u64().unwrap() >= 1);
        }
        for x in f["findings"].as_array().unwrap().iter().filter(|x| x["rule"] == "unparsable-statement") {
            let i = x["statement"].as_u64().expect("an unparsable-statement finding names its statement");
            let s = reported.iter().find(|s| s["index"].as_u64() == Some(i)).expect("its statement is reported");
            assert_eq!(x["line"], s["line"], "{path}: reported at the statement's line");
            unparsable += 1;
        }
        statements += reported.len();
    }
    eprintln!("corpus: {} files, {statements} statements, {unparsable} not parsable", n_files(&v));
    assert!(unparsable * 100 < statements, "more than 1% of the corpus statements unparsable: {unparsable}");
}

fn n_files(v: &Value) -> usize {
    v["files"].as_array().map_or(0, Vec::len)
}

fn walk_sql(p: &Path, out: &mut Vec<String>) {
    for e in std::fs::read_dir(p).unwrap() {
        let e = e.unwrap();
        let path = e.path();
        if path.is_dir() {
            walk_sql(&path, out);
        } else if path.extension().is_some_and(|x| x == "sql") {
            out.push(path.to_string_lossy().into_owned());
        }
    }
}

#[test]
fn readme_lists_every_rule_with_its_level() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    for r in migrade::rules::ALL {
        let row = format!("| [`{}`](rules/{}.md) | {} |", r.id, r.id, r.level.as_str());
        assert!(readme.contains(&row), "README.md does not list {} at {}", r.id, r.level.as_str());
    }
}

#[test]
fn timestamptz_under_utc_depends_on_the_column_indexes() {
    // Without UTC: a rewrite, high. With UTC: no rewrite, but an indexed column's
    // indexes are rebuilt (high); a column with no index is catalog-only (medium).
    let levels = |extra: &[&str]| -> Vec<String> {
        let mut args = extra.to_vec();
        let dir = fixture("history_tz");
        args.push(&dir);
        let (v, _) = json(&args);
        file(&v, "0002_tz.sql")["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|x| x["rule"] == "change-column-type")
            .map(|x| x["level"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(levels(&[]), ["high", "high"]);
    assert_eq!(levels(&["--session-timezone-utc"]), ["high", "medium"]);
}

#[test]
fn bare_file_name_gets_its_folder_history() {
    let out = Command::new(BIN)
        .current_dir(fixture("history"))
        .args(["lint", "--no-config", "--format", "json", "0002_alter.sql"])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["files"].as_array().unwrap().len(), 1, "only the named file is reported");
    let msgs: Vec<&str> =
        v["files"][0]["findings"].as_array().unwrap().iter().map(|x| x["message"].as_str().unwrap()).collect();
    assert!(msgs.iter().any(|m| m.contains("from varchar(50) to varchar(100)")), "{msgs:?}");
}

#[test]
fn terminal_escapes_are_not_printed_and_huge_statements_are_not_parsed() {
    let dir = tempfile::tempdir().unwrap();
    let esc = dir.path().join("0001_esc.sql");
    std::fs::write(&esc, "-- \u{1b}[2K\u{1b}[1Aevil\nDROP TABLE t;\n").unwrap();
    let out = run(&["lint", "--no-config", esc.to_str().unwrap()]);
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(s.contains("drop-table") && !s.contains('\u{1b}'), "{s}");
    // A 300 KiB VALUES list is reported, not parsed (its parse tree would take hundreds of MB).
    let big = dir.path().join("0002_seed.sql");
    let mut sql = String::from("INSERT INTO seed (v) VALUES (1)");
    while sql.len() < 300 * 1024 {
        sql.push_str(", (1)");
    }
    sql.push_str(";\nDROP TABLE t;\n");
    std::fs::write(&big, sql).unwrap();
    let (v, _) = json(&[big.to_str().unwrap()]);
    let f = &v["files"][0];
    let x = f["findings"].as_array().unwrap().iter().find(|x| x["rule"] == "unparsable-statement").unwrap();
    assert!(x["message"].as_str().unwrap().contains("over the 256 KiB"), "{x}");
    assert!(rules(f).contains(&"drop-table"), "the rest of the file is still analysed");
}
