//! `migrade.toml` and `--changed-since`, as a user meets them: errors that point
//! at the key's line (exit 2), rule overrides, flags over the file, the file
//! found from a subdirectory, `migrade init`; and linting only the files a
//! branch changed while the schema history still comes from every file, in a
//! real temp git repository (and a shallow clone of it).
//!
//! Run: `cargo test --test config`

use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_migrade");

/// `migrade <args>` in `dir`, with no colour.
fn run(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN).current_dir(dir).args(args).env("NO_COLOR", "1").output().expect("run migrade")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}\nstderr: {}", String::from_utf8_lossy(&o.stdout), stderr(o)))
}

/// A project: `migrations/0001_create.sql` (low) and `0002_drop.sql` (very-high,
/// drop-column), `0003_widen.sql` (medium: a varchar widening needs no rewrite,
/// known from 0001), plus `migrade.toml` with `config`.
fn project(config: &str) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let m = tmp.path().join("migrations");
    std::fs::create_dir_all(&m).unwrap();
    std::fs::create_dir_all(tmp.path().join("sub/deeper")).unwrap();
    std::fs::write(
        m.join("0001_create.sql"),
        "CREATE TABLE users (id bigint PRIMARY KEY, email text, name varchar(50));\n",
    )
    .unwrap();
    std::fs::write(m.join("0002_drop.sql"), "SET lock_timeout = '5s';\nALTER TABLE users DROP COLUMN email;\n")
        .unwrap();
    std::fs::write(
        m.join("0003_widen.sql"),
        "SET lock_timeout = '5s';\nALTER TABLE users ALTER COLUMN name TYPE varchar(100);\n",
    )
    .unwrap();
    std::fs::write(tmp.path().join("migrade.toml"), config).unwrap();
    tmp
}

fn grade<'a>(v: &'a Value, suffix: &str) -> &'a str {
    v["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"].as_str().unwrap().ends_with(suffix))
        .unwrap_or_else(|| panic!("no {suffix}: {v:#}"))["grade"]
        .as_str()
        .unwrap()
}

/// Asserts exit 2 and that stderr names `migrade.toml` at `line:col` (miette's
/// `╭─[path/migrade.toml:LINE:COL]`) and contains every string of `says`.
fn assert_config_error(config: &str, line_col: &str, says: &[&str]) {
    let p = project(config);
    let o = run(p.path(), &["lint", "migrations"]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "config {config:?}: {err}");
    assert!(err.contains(&format!("migrade.toml:{line_col}]")), "config {config:?} should point at {line_col}:\n{err}");
    assert!(err.contains("╭─["), "a miette report:\n{err}");
    // miette wraps long messages: compare against the text with the wrapping undone.
    let flat = err
        .lines()
        .map(|l| l.trim_start_matches(|c: char| c.is_whitespace() || c == '│' || c == '×').trim_end())
        .collect::<Vec<_>>()
        .join(" ");
    for s in says {
        assert!(flat.contains(s), "config {config:?} should say {s:?}:\n{err}");
    }
    assert!(o.stdout.is_empty(), "nothing linted");
}

#[test]
fn unknown_key_points_at_its_line() {
    assert_config_error("pg_version = 15\n\nfail_onn = \"high\"\n", "3:1", &["unknown field `fail_onn`", "fail_on"]);
}

#[test]
fn bad_values_point_at_the_value() {
    assert_config_error("# levels\nfail_on = \"extreme\"\n", "2:11", &["\"extreme\" is not a level", "very-high"]);
    assert_config_error("pg_version = 3\n", "1:14", &["pg_version: `3` is not a PostgreSQL version migrade knows"]);
    assert_config_error("pg_version = \"fifteen\"\n", "1:14", &["use MAJOR or MAJOR.MINOR"]);
    assert_config_error(
        "[rules]\ndrop-column = \"off\"\nno-such-rule = \"off\"\n",
        "3:16",
        &["unknown rule \"no-such-rule\""],
    );
    assert_config_error("[rules]\ndrop-column = \"sometimes\"\n", "2:15", &["is not off or a level"]);
    assert_config_error("layout = \"rails\"\n", "1:10", &["unknown layout \"rails\""]);
    assert_config_error("session_level = \"loud\"\n", "1:17", &["is not a level"]);
    assert_config_error("fail_on = high\n", "1:11", &[]); // TOML syntax: unquoted string
}

#[test]
fn rule_off_and_level_override() {
    let base = project("");
    let v = json(&run(base.path(), &["lint", "--format", "json", "migrations/0002_drop.sql"]));
    assert_eq!(grade(&v, "0002_drop.sql"), "very-high");

    let off = project("[rules]\ndrop-column = \"off\"\n");
    let o = run(off.path(), &["lint", "--format", "json", "migrations/0002_drop.sql"]);
    let v = json(&o);
    assert_eq!(grade(&v, "0002_drop.sql"), "low", "{v:#}");
    assert!(!v.to_string().contains("\"drop-column\""), "the rule is off: {v:#}");
    assert_eq!(o.status.code(), Some(0));

    let lowered = project("[rules]\ndrop-column = \"medium\"\n");
    let o = run(lowered.path(), &["lint", "--format", "json", "migrations/0002_drop.sql"]);
    let v = json(&o);
    assert_eq!(grade(&v, "0002_drop.sql"), "medium", "{v:#}");
    assert_eq!(v["files"][0]["findings"][0]["rule"], "drop-column");
    assert_eq!(v["files"][0]["findings"][0]["level"], "medium");
    assert_eq!(o.status.code(), Some(0), "medium is below the default fail_on");

    let raised = project("[rules]\nchange-column-type = \"very-high\"\n");
    let v = json(&run(raised.path(), &["lint", "--format", "json", "migrations"]));
    assert_eq!(grade(&v, "0003_widen.sql"), "very-high", "{v:#}");
}

#[test]
fn flags_override_the_file() {
    // The file says fail on medium: 0003 (medium) fails ...
    let p = project("fail_on = \"medium\"\n");
    let o = run(p.path(), &["lint", "migrations/0001_create.sql", "migrations/0003_widen.sql"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    // ... unless --fail-on says otherwise.
    let o = run(p.path(), &["lint", "--fail-on", "high", "migrations/0001_create.sql", "migrations/0003_widen.sql"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // --config names another file; --no-config ignores them all.
    std::fs::write(p.path().join("strict.toml"), "fail_on = \"low\"\n").unwrap();
    let o = run(p.path(), &["lint", "--config", "strict.toml", "migrations/0001_create.sql"]);
    assert_eq!(o.status.code(), Some(1), "fail_on = low from strict.toml");
    let o = run(p.path(), &["lint", "--config", "missing.toml", "migrations"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("missing.toml"), "{}", stderr(&o));
    std::fs::write(p.path().join("migrade.toml"), "fail_on = \"nope\"\n").unwrap();
    let o = run(p.path(), &["lint", "--no-config", "migrations/0001_create.sql"]);
    assert_eq!(o.status.code(), Some(0), "--no-config skips the broken file: {}", stderr(&o));
    // --pg-version beats pg_version (a bad flag value is reported as the flag's).
    std::fs::write(p.path().join("migrade.toml"), "pg_version = 15\n").unwrap();
    let o = run(p.path(), &["lint", "--pg-version", "3", "migrations"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("'3' for '--pg-version"), "{}", stderr(&o));
}

#[test]
fn config_is_found_from_a_subdirectory() {
    let p = project("[rules]\ndrop-column = \"off\"\n");
    let deeper = p.path().join("sub/deeper");
    let v = json(&run(&deeper, &["lint", "--format", "json", "../../migrations/0002_drop.sql"]));
    assert_eq!(grade(&v, "0002_drop.sql"), "low", "the parent's migrade.toml applies: {v:#}");
    let v = json(&run(&deeper, &["lint", "--format", "json", "--no-config", "../../migrations/0002_drop.sql"]));
    assert_eq!(grade(&v, "0002_drop.sql"), "very-high");
    // The search starts from the linted file, not the working directory (as ruff's):
    // a config in the working directory does not apply to a file outside it...
    std::fs::write(deeper.join("migrade.toml"), "# nothing turned off here\n").unwrap();
    let v = json(&run(&deeper, &["lint", "--format", "json", "../../migrations/0002_drop.sql"]));
    assert_eq!(grade(&v, "0002_drop.sql"), "low");
    // ...and one nearer the file wins over the parent's.
    std::fs::write(p.path().join("migrations/migrade.toml"), "# nothing turned off here\n").unwrap();
    let v = json(&run(&deeper, &["lint", "--format", "json", "../../migrations/0002_drop.sql"]));
    assert_eq!(grade(&v, "0002_drop.sql"), "very-high");
}

#[test]
fn init_writes_a_commented_default_and_refuses_to_overwrite() {
    let tmp = tempfile::tempdir().unwrap();
    let o = run(tmp.path(), &["init"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let path = tmp.path().join("migrade.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    for key in
        ["pg_version", "fail_on", "assume_in_transaction", "include", "exclude", "require_ignore_reason", "[rules]"]
    {
        assert!(text.contains(key), "documents {key}:\n{text}");
    }
    // The default file is valid as written, and every setting in it is commented out.
    std::fs::create_dir(tmp.path().join("m")).unwrap();
    std::fs::write(tmp.path().join("m/1.sql"), "ALTER TABLE t DROP COLUMN c;\n").unwrap();
    let o = run(tmp.path(), &["lint", "m"]);
    assert_eq!(o.status.code(), Some(1), "default fail_on high: {}", stderr(&o));
    // Uncommenting the examples gives a valid file too.
    let uncommented: String = text
        .lines()
        .map(|l| if l.starts_with("# ") && l.contains(" = ") && !l.contains("->") { &l[2..] } else { l })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(tmp.path().join("uncommented.toml"), &uncommented).unwrap();
    let o = run(tmp.path(), &["lint", "--config", "uncommented.toml", "m"]);
    assert!(matches!(o.status.code(), Some(0 | 1)), "uncommented default is valid:\n{uncommented}\n{}", stderr(&o));
    // A second init leaves the file alone.
    std::fs::write(&path, "fail_on = \"low\"\n").unwrap();
    let o = run(tmp.path(), &["init"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("already exists"), "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "fail_on = \"low\"\n");
}

// ---------- --changed-since ----------

fn git(dir: &Path, args: &[&str]) -> String {
    let o = Command::new("git")
        .current_dir(dir)
        .args(args)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .output()
        .expect("git is installed");
    assert!(o.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).to_string()
}

/// A repo: `main` holds 0001_create.sql (users.name varchar(50)); branch
/// `feature` adds 0002_widen.sql (varchar(100)) on top.
fn branch_repo() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    git(d, &["init", "-q", "-b", "main"]);
    std::fs::create_dir(d.join("migrations")).unwrap();
    std::fs::write(
        d.join("migrations/0001_create.sql"),
        "CREATE TABLE users (\n    id bigint PRIMARY KEY,\n    name varchar(50) NOT NULL\n);\n",
    )
    .unwrap();
    git(d, &["add", "-A"]);
    git(d, &["commit", "-q", "-m", "create users"]);
    git(d, &["checkout", "-q", "-b", "feature"]);
    std::fs::write(d.join("migrations/0002_widen.sql"), "ALTER TABLE users ALTER COLUMN name TYPE varchar(100);\n")
        .unwrap();
    git(d, &["add", "-A"]);
    git(d, &["commit", "-q", "-m", "widen users.name"]);
    tmp
}

fn reported(v: &Value) -> Vec<String> {
    v["files"].as_array().unwrap().iter().map(|f| f["path"].as_str().unwrap().to_string()).collect()
}

#[test]
fn changed_since_reports_only_changed_files_with_the_full_history() {
    let repo = branch_repo();
    let d = repo.path();
    let o = run(d, &["lint", "--no-config", "--format", "json", "--changed-since", "main", "migrations"]);
    let v = json(&o);
    assert_eq!(reported(&v), ["migrations/0002_widen.sql"]);
    // Medium, not high: widening varchar(50) to varchar(100) needs no rewrite,
    // which is known only because 0001 (unchanged, not reported) was read.
    assert_eq!(grade(&v, "0002_widen.sql"), "medium", "{v:#}");
    assert_eq!(o.status.code(), Some(0));
    // Without its history (--no-history: not even its folder's earlier files), the
    // same file is graded high.
    let v = json(&run(d, &["lint", "--no-config", "--no-history", "--format", "json", "migrations/0002_widen.sql"]));
    assert_eq!(grade(&v, "0002_widen.sql"), "high", "the control: {v:#}");
    // From a subdirectory too, and uncommitted and untracked files count as changed.
    std::fs::write(d.join("migrations/0003_drop.sql"), "ALTER TABLE users DROP COLUMN name;\n").unwrap();
    let o = Command::new(BIN)
        .current_dir(d.join("migrations"))
        .args(["lint", "--no-config", "--format", "json", "--changed-since", "main", "."])
        .output()
        .unwrap();
    let v = json(&o);
    assert_eq!(reported(&v), ["0002_widen.sql", "0003_drop.sql"]);
    assert_eq!(o.status.code(), Some(1), "0003 drops a column");
    // Nothing changed since the branch itself: nothing reported.
    std::fs::remove_file(d.join("migrations/0003_drop.sql")).unwrap();
    let o = run(d, &["lint", "--no-config", "--format", "json", "--changed-since", "feature", "migrations"]);
    assert_eq!(reported(&json(&o)), Vec::<String>::new());
    assert_eq!(o.status.code(), Some(0));
}

#[test]
fn changed_since_a_missing_ref_says_how_to_fetch_it() {
    let repo = branch_repo();
    let o = run(repo.path(), &["lint", "--no-config", "--changed-since", "origin/develop", "migrations"]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("origin/develop") && err.contains("git fetch"), "{err}");
    // Outside a git repository.
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("1.sql"), "SELECT 1;\n").unwrap();
    let o = Command::new(BIN)
        .current_dir(tmp.path())
        .env("GIT_CEILING_DIRECTORIES", tmp.path().parent().unwrap())
        .args(["lint", "--no-config", "--changed-since", "main", "."])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("not inside a git repository"), "{}", stderr(&o));
}

#[test]
fn changed_since_in_a_shallow_clone() {
    let repo = branch_repo();
    let clones = tempfile::tempdir().unwrap();
    // A CI checkout: depth 1, only the PR branch (file:// so --depth applies).
    let url = format!("file://{}", repo.path().display());
    git(clones.path(), &["clone", "-q", "--depth", "1", "--branch", "feature", &url, "ci"]);
    let ci = clones.path().join("ci");
    assert_eq!(git(&ci, &["rev-parse", "--is-shallow-repository"]).trim(), "true");
    let o = run(&ci, &["lint", "--no-config", "--changed-since", "origin/main", "migrations"]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("unknown git ref `origin/main`"), "{err}");
    assert!(err.contains("git fetch") && err.contains("origin main"), "says what to fetch: {err}");
    // Fetching the base at depth 1 gives the ref but no common history yet.
    git(&ci, &["fetch", "-q", "--depth=1", "origin", "main:refs/remotes/origin/main"]);
    let o = run(&ci, &["lint", "--no-config", "--changed-since", "origin/main", "migrations"]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("no merge-base") && err.contains("--deepen"), "{err}");
    assert!(!err.contains("()"), "no empty git message: {err}");
    // After deepening, it works like the full clone.
    git(&ci, &["fetch", "-q", "--deepen=10", "origin", "feature"]);
    let o = run(&ci, &["lint", "--no-config", "--format", "json", "--changed-since", "origin/main", "migrations"]);
    let v = json(&o);
    assert_eq!(reported(&v), ["migrations/0002_widen.sql"], "{}", stderr(&o));
    assert_eq!(grade(&v, "0002_widen.sql"), "medium");
}
