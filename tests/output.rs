//! Human output a person can read on a large folder (issue 13): the summary printed last,
//! `-q`, `--min-level`, `--statistics`, `--format concise`, a statement with several
//! findings shown once, down migrations in their own section and out of `--fail-on`
//! unless `--fail-on-down`.
//!
//! Run: `cargo test --test output`

use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_migrade");

fn run(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .current_dir(dir)
        .args(["lint", "--no-config"])
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("run migrade")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn json(dir: &Path, args: &[&str]) -> Value {
    let mut a = vec!["--format", "json"];
    a.extend_from_slice(args);
    serde_json::from_slice(&run(dir, &a).stdout).expect("JSON")
}

/// A golang-migrate folder of `n` small up migrations, each with a down that drops what
/// its up added (the expected rollback: a very-high down), plus one high and one
/// very-high up migration near the start.
fn folder(n: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let w = |name: &str, sql: &str| std::fs::write(dir.path().join(name), sql).expect("write");
    w("0001_create_t.up.sql", "CREATE TABLE t (id serial PRIMARY KEY, a varchar(10), b timestamp, c json, d int);\n");
    w("0001_create_t.down.sql", "DROP TABLE t;\n");
    w("0002_index_t.up.sql", "CREATE INDEX t_a ON t (a);\n");
    w("0002_index_t.down.sql", "DROP INDEX t_a;\n");
    w("0003_drop_d.up.sql", "ALTER TABLE t DROP COLUMN d;\n");
    w("0003_drop_d.down.sql", "ALTER TABLE t ADD COLUMN d int;\n");
    for i in 4..4 + n {
        w(&format!("{i:04}_add_c{i}.up.sql"), &format!("ALTER TABLE t ADD COLUMN c{i} varchar(20);\n"));
        w(&format!("{i:04}_add_c{i}.down.sql"), &format!("ALTER TABLE t DROP COLUMN c{i};\n"));
    }
    dir
}

fn grade(v: &Value, suffix: &str) -> String {
    let f = v["files"]
        .as_array()
        .expect("files")
        .iter()
        .find(|f| f["path"].as_str().expect("path").ends_with(suffix))
        .unwrap_or_else(|| panic!("no {suffix}"));
    f["grade"].as_str().expect("grade").to_string()
}

/// The last line of the human output, which the summary line must be.
fn summary_line(out: &str) -> &str {
    out.lines().last().expect("a line")
}

#[test]
fn the_folder_grades_as_the_tests_assume() {
    let dir = folder(3);
    let v = json(dir.path(), &["."]);
    assert_eq!(grade(&v, "0001_create_t.up.sql"), "low");
    assert_eq!(grade(&v, "0001_create_t.down.sql"), "very-high");
    assert_eq!(grade(&v, "0002_index_t.up.sql"), "high");
    assert_eq!(grade(&v, "0003_drop_d.up.sql"), "very-high");
    assert_eq!(grade(&v, "0004_add_c4.up.sql"), "low");
    assert_eq!(grade(&v, "0004_add_c4.down.sql"), "very-high");
}

#[test]
fn quiet_on_a_large_folder_is_short_and_ends_with_the_summary() {
    let dir = folder(150);
    let full = stdout(&run(dir.path(), &["."]));
    let quiet_out = run(dir.path(), &["-q", "."]);
    let quiet = stdout(&quiet_out);
    assert_eq!(quiet_out.status.code(), Some(1), "0003 is very-high: {quiet}");
    let n = quiet.lines().count();
    assert!(n < 80, "-q printed {n} lines:\n{quiet}");
    assert!(full.lines().count() > 4 * n, "-q is much shorter than the full output");
    // Only the up files at or above --fail-on (high), one line each, worst first.
    let body: Vec<&str> = quiet.lines().take_while(|l| !l.starts_with("── summary ──")).collect();
    assert_eq!(body.len(), 3, "a heading and two files: {quiet}");
    assert!(body[1].starts_with("  VERY-HIGH  0003_drop_d.up.sql:1  [drop-column] dropping column t.d"), "{quiet}");
    assert!(body[2].starts_with("  HIGH       0002_index_t.up.sql:1  [create-index-non-concurrently]"), "{quiet}");
    assert!(!quiet.contains("_add_c"), "a low file under -q: {quiet}");
    assert!(!quiet.contains(".down.sql"), "a down file under -q without --fail-on-down: {quiet}");
    // Ends with the summary, its last line the count per grade.
    assert!(summary_line(&quiet).starts_with("306 files linted: 152 very-high, 1 high, 1 medium, 152 low"), "{quiet}");
    let summary = &quiet[quiet.find("── summary ──").expect("summary heading")..];
    assert!(summary.contains("down migrations: 153 files: 151 very-high, 0 high, 1 medium, 1 low"), "{summary}");
    assert!(summary.contains("not counted toward --fail-on"), "{summary}");
    assert!(summary.contains("151 file(s) with findings below --fail-on high not shown (-q)"), "{summary}");

    // Without -q the summary names the worst files, worst first, downs apart, capped at 10.
    let summary = &full[full.find("── summary ──").expect("summary heading")..];
    let names: Vec<&str> = summary.lines().skip_while(|l| *l != "worst files:").skip(1).take(11).collect();
    assert!(names[0].starts_with("  VERY-HIGH  0003_drop_d.up.sql:1  [drop-column]"), "{summary}");
    assert!(names[1].starts_with("  HIGH       0002_index_t.up.sql:1"), "{summary}");
    assert!(names[2].starts_with("  LOW        "), "{summary}");
    assert_eq!(names[10], "  … 143 more file(s) with findings", "153 up files with findings: {summary}");
    assert!(!summary.contains(".down.sql"), "{summary}");
    assert!(summary_line(&full).starts_with("306 files linted"));
}

#[test]
fn the_full_output_ends_with_the_summary_and_shows_downs_in_their_own_section() {
    let dir = folder(2);
    let out = stdout(&run(dir.path(), &["."]));
    assert!(summary_line(&out).starts_with("10 files linted"), "{out}");
    let section = out.find("── down migrations").expect("a down section");
    let first_down = out.find(".down.sql: grade").expect("a down file");
    let last_up = out.rfind(".up.sql: grade").expect("an up file");
    assert!(last_up < section && section < first_down, "ups, then the down section:\n{out}");
    assert!(out.find("── summary ──").expect("summary") > first_down);
}

#[test]
fn a_statement_with_several_findings_is_shown_once() {
    let dir = folder(0);
    let out = stdout(&run(dir.path(), &["0001_create_t.up.sql"]));
    let v = json(dir.path(), &["0001_create_t.up.sql"]);
    let findings = v["files"][0]["findings"].as_array().expect("findings").len();
    assert!(findings >= 3, "the CREATE TABLE has several findings: {v:#}");
    // The statement's source line is printed once, its other findings beneath it.
    assert_eq!(out.matches("CREATE TABLE t (id serial").count(), 1, "{out}");
    assert!(out.contains("also on this statement:"), "{out}");
    for x in v["files"][0]["findings"].as_array().expect("findings") {
        let rule = x["rule"].as_str().expect("rule");
        assert!(out.contains(rule), "{rule} missing:\n{out}");
    }
}

#[test]
fn min_level_hides_findings_below_it_and_keeps_grades() {
    let dir = folder(1);
    let out = stdout(&run(dir.path(), &["--min-level", "high", "."]));
    assert!(!out.contains("prefer-"), "low findings hidden: {out}");
    assert!(!out.contains("0001_create_t.up.sql: grade"), "a file with nothing left is not shown: {out}");
    assert!(out.contains("[drop-column [very-high]]") || out.contains("drop-column [very-high]"), "{out}");
    // Grades (and the exit code) do not change.
    assert!(summary_line(&out).starts_with("8 files linted: 3 very-high, 1 high, 1 medium, 3 low"), "{out}");
    let v = json(dir.path(), &["--min-level", "medium", "."]);
    assert_eq!(grade(&v, "0001_create_t.up.sql"), "low");
    assert!(v["files"][0]["findings"].as_array().expect("findings").is_empty(), "{v:#}");
    let all = json(dir.path(), &["."]);
    assert!(!all["files"][0]["findings"].as_array().expect("findings").is_empty());
    assert_eq!(run(dir.path(), &["--min-level", "very-high", "--format", "json", "."]).status.code(), Some(1));
}

#[test]
fn statistics_counts_findings_per_rule() {
    let dir = folder(4);
    let v = json(dir.path(), &["."]);
    let mut drops = 0;
    for f in v["files"].as_array().expect("files") {
        for x in f["findings"].as_array().expect("findings") {
            if x["rule"] == "drop-column" && x["ignored"] == false {
                drops += 1;
            }
        }
    }
    let out = stdout(&run(dir.path(), &["--statistics", "-q", "."]));
    let stats = &out[out.find("findings per rule:").expect("statistics")..];
    let line = stats.lines().find(|l| l.ends_with(" drop-column")).expect("drop-column row");
    let n: usize = line.split_whitespace().next().expect("count").parse().expect("number");
    assert_eq!(n, drops, "{stats}");
    assert!(!stdout(&run(dir.path(), &["-q", "."])).contains("findings per rule:"));
}

#[test]
fn concise_is_one_line_per_finding_then_the_summary_line() {
    let dir = folder(2);
    let v = json(dir.path(), &["."]);
    let out = stdout(&run(dir.path(), &["--format", "concise", "."]));
    let lines: Vec<&str> = out.lines().collect();
    let mut expected = Vec::new();
    for f in v["files"].as_array().expect("files") {
        for x in f["findings"].as_array().expect("findings").iter().filter(|x| x["ignored"] == false) {
            expected.push(format!(
                "{}:{}:{}: {} [{}] {}",
                f["path"].as_str().expect("path"),
                x["line"],
                x["column"],
                x["level"].as_str().expect("level"),
                x["rule"].as_str().expect("rule"),
                x["message"].as_str().expect("message")
            ));
        }
    }
    assert_eq!(lines.len(), expected.len() + 1, "{out}");
    for e in &expected {
        assert!(lines.contains(&e.as_str()), "missing `{e}` in\n{out}");
    }
    assert!(lines.last().expect("line").starts_with("10 files linted"));
    // Down files come after every up file.
    let first_down = lines.iter().position(|l| l.contains(".down.sql:")).expect("a down line");
    assert!(lines[first_down..lines.len() - 1].iter().all(|l| l.contains(".down.sql:")), "{out}");
    // -q keeps only the files at or above --fail-on.
    let quiet = stdout(&run(dir.path(), &["--format", "concise", "-q", "."]));
    assert!(quiet.lines().count() < lines.len());
    assert!(quiet.lines().all(|l| !l.contains(".down.sql:") && !l.contains("_add_c")), "{quiet}");
}

#[test]
fn downs_count_toward_fail_on_only_with_fail_on_down() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("1_add_x.up.sql"), "ALTER TABLE t ADD COLUMN x text;\n").expect("write");
    std::fs::write(dir.path().join("1_add_x.down.sql"), "ALTER TABLE t DROP COLUMN x;\n").expect("write");
    for format in ["human", "json", "concise"] {
        let plain = run(dir.path(), &["--format", format, "."]);
        assert_eq!(plain.status.code(), Some(0), "{format}: {}", stdout(&plain));
        let counted = run(dir.path(), &["--format", format, "--fail-on-down", "."]);
        assert_eq!(counted.status.code(), Some(1), "{format}: {}", stdout(&counted));
    }
    let v = json(dir.path(), &["."]);
    assert_eq!(grade(&v, "1_add_x.down.sql"), "very-high", "the down is still graded");
    // -q shows the down with --fail-on-down.
    let q = stdout(&run(dir.path(), &["-q", "--fail-on-down", "."]));
    assert!(q.contains("  VERY-HIGH  1_add_x.down.sql:1  [drop-column]"), "{q}");
    assert!(q.contains("counted toward --fail-on (--fail-on-down)"), "{q}");
}

#[test]
fn a_dbmate_down_section_counts_only_with_fail_on_down() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("db/migrations");
    std::fs::create_dir_all(&db).expect("mkdir");
    std::fs::write(
        db.join("20240101000000_add_x.sql"),
        "-- migrate:up\nALTER TABLE t ADD COLUMN x text;\n\n-- migrate:down\nALTER TABLE t DROP COLUMN x;\n",
    )
    .expect("write");
    let v = json(dir.path(), &["."]);
    assert_eq!(grade(&v, "_add_x.sql"), "very-high", "{v:#}");
    assert_eq!(run(dir.path(), &["."]).status.code(), Some(0));
    assert_eq!(run(dir.path(), &["--fail-on-down", "."]).status.code(), Some(1));
}
