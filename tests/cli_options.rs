//! The command-line details users trip on (issue 13): excludes on named files,
//! config lookup from the linted paths, `--stdin-filename`, colour, version
//! parsing shared by every subcommand, errors for globs and excluded folders,
//! SARIF rule metadata, help texts, completions and the man page.

mod common;

use common::{git, write_files};
use serde_json::Value;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_migrade");

fn run_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN).args(args).current_dir(dir).env("NO_COLOR", "1").output().expect("run migrade")
}

fn json_of(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn paths(v: &Value) -> Vec<String> {
    v["files"].as_array().unwrap().iter().map(|f| f["path"].as_str().unwrap().to_string()).collect()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).to_string()
}

const SAFE: &str = "CREATE TABLE users (id bigint PRIMARY KEY, email text);\n";
const RISKY: &str = "DELETE FROM sessions;\n";

#[test]
fn exclude_applies_to_files_named_on_the_command_line() {
    // pre-commit names every staged file: the config's excludes must hold for them.
    let d = tempfile::tempdir().unwrap();
    write_files(
        d.path(),
        &[
            ("migrade.toml", "exclude = [\"**/seeds/**\"]\n"),
            ("db/seeds/reset.sql", RISKY),
            ("db/migrations/0001_users.sql", SAFE),
        ],
    );
    let out = run_in(d.path(), &["lint", "--format", "json", "db/seeds/reset.sql", "db/migrations/0001_users.sql"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(paths(&json_of(&out)), ["db/migrations/0001_users.sql"]);
    // --exclude too, and a path written with ./ or absolute.
    let abs = d.path().join("db/seeds/reset.sql");
    for named in ["./db/seeds/reset.sql", abs.to_str().unwrap()] {
        let out = run_in(d.path(), &["lint", "--no-config", "--format", "json", "--exclude", "**/seeds/**", named]);
        assert_eq!(out.status.code(), Some(0), "{named}: {}", stderr(&out));
        assert!(paths(&json_of(&out)).is_empty(), "{named}");
    }
    // Without the exclude the file is linted and blocks.
    let out = run_in(d.path(), &["lint", "--no-config", "--format", "json", "db/seeds/reset.sql"]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn folder_with_every_file_excluded_says_so() {
    let d = tempfile::tempdir().unwrap();
    write_files(d.path(), &[("seeds/a.sql", RISKY), ("seeds/b.sql", RISKY), ("empty/notes.txt", "x")]);
    let out = run_in(d.path(), &["lint", "--no-config", "--exclude", "**/seeds/**", "seeds"]);
    assert_eq!(out.status.code(), Some(2));
    let e = stderr(&out) + &stdout(&out);
    assert!(e.contains("all 2 migration files here are excluded"), "{e}");
    assert!(!e.contains("no migration files found"), "{e}");
    // A folder with no SQL at all still says that.
    let out = run_in(d.path(), &["lint", "--no-config", "--format", "json", "empty"]);
    assert!(stderr(&out).contains("no migration files found"), "{}", stderr(&out));
}

#[test]
fn glob_matching_nothing_reports_one_error() {
    let d = tempfile::tempdir().unwrap();
    let out = run_in(d.path(), &["lint", "--no-config", "--format", "json", "nope/**/*.sql"]);
    assert_eq!(out.status.code(), Some(2));
    let e = stderr(&out);
    assert!(e.contains("the pattern matches no files"), "{e}");
    assert!(!e.contains("cannot read"), "{e}");
    assert_eq!(e.lines().filter(|l| l.starts_with("error:")).count(), 1, "{e}");
}

#[test]
fn config_is_found_upward_from_each_linted_path() {
    let d = tempfile::tempdir().unwrap();
    write_files(
        d.path(),
        &[
            ("a/migrade.toml", "fail_on = \"low\"\n"),
            ("a/migrations/0001_users.sql", SAFE),
            ("b/migrade.toml", "fail_on = \"very-high\"\nexclude = [\"**/*_skip_*\"]\n"),
            ("b/migrations/0001_users.sql", SAFE),
            ("b/migrations/0002_skip_me.sql", RISKY),
            ("elsewhere/.keep", ""),
        ],
    );
    // From a folder outside both projects, each path gets its own config.
    let cwd = d.path().join("elsewhere");
    let out = run_in(&cwd, &["lint", "--format", "json", "../a/migrations"]);
    assert_eq!(out.status.code(), Some(1), "a's fail_on = low applies: {}", stderr(&out));
    let out = run_in(&cwd, &["lint", "--format", "json", "../b/migrations"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(paths(&json_of(&out)).len(), 1, "b's exclude applies");
    // Both in one run: a's file fails on a's level, b's exclude still holds.
    let out = run_in(&cwd, &["lint", "--format", "json", "../a/migrations", "../b/migrations"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(paths(&json_of(&out)).len(), 2, "{:?}", paths(&json_of(&out)));
}

#[test]
fn changed_since_finds_the_repository_from_the_paths() {
    let d = tempfile::tempdir().unwrap();
    let repo = d.path().join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    git(&repo, &["init", "-q", "-b", "main"]);
    write_files(&repo, &[("migrations/0001_users.sql", SAFE)]);
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-q", "-m", "base"]);
    write_files(&repo, &[("migrations/0002_drop.sql", "ALTER TABLE users DROP COLUMN email;\n")]);
    // The working directory is not inside any repository.
    let outside = tempfile::tempdir().unwrap();
    let path = repo.join("migrations");
    let mut c = Command::new(BIN);
    c.args(["lint", "--no-config", "--format", "json", "--changed-since", "main", path.to_str().unwrap()])
        .current_dir(outside.path());
    common::isolate_git(&mut c);
    let out = c.output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let p = paths(&json_of(&out));
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(p[0].ends_with("0002_drop.sql"));
}

fn lint_stdin(dir: &Path, args: &[&str], input: &str) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn stdin_filename_names_the_file_and_brings_its_folder_history() {
    let d = tempfile::tempdir().unwrap();
    write_files(
        d.path(),
        &[
            ("migrations/000001_users.up.sql", "CREATE TABLE users (id bigint PRIMARY KEY, name text);\n"),
            ("migrations/000001_users.down.sql", "DROP TABLE users;\n"),
            // The file on disk is the old version: standard input replaces it.
            ("migrations/000002_name.up.sql", "SELECT 1;\n"),
            ("migrade.toml", "exclude = [\"**/seeds/**\"]\n"),
        ],
    );
    // text -> varchar(20) is a rewrite only the history (users.name is text) can tell.
    let sql = "ALTER TABLE users ALTER COLUMN name TYPE varchar(20);\n";
    let args = ["lint", "--format", "json", "-", "--stdin-filename", "migrations/000002_name.up.sql"];
    let out = lint_stdin(d.path(), &args, sql);
    let v = json_of(&out);
    assert_eq!(paths(&v), ["migrations/000002_name.up.sql"], "{}", stderr(&out));
    let f = &v["files"][0];
    assert_eq!(f["layout"], "golang-migrate", "{f:#}");
    let change = f["findings"].as_array().unwrap().iter().find(|x| x["rule"] == "change-column-type");
    assert_eq!(change.map(|x| x["level"].clone()), Some(Value::from("high")), "{f:#}");
    // Without a name: `-`, plain layout, no history (the type change cannot be judged a rewrite).
    let out = lint_stdin(d.path(), &["lint", "--format", "json", "-"], sql);
    let v = json_of(&out);
    assert_eq!(paths(&v), ["-"]);
    // Excludes hold for the name standard input stands for.
    let args = ["lint", "--format", "json", "-", "--stdin-filename", "db/seeds/x.sql"];
    let out = lint_stdin(d.path(), &args, RISKY);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(paths(&json_of(&out)).is_empty());
}

fn has_ansi(s: &str) -> bool {
    s.contains("\u{1b}[")
}

/// Runs migrade under a pseudo-terminal (util-linux `script`), as a user's shell does.
fn in_pty(dir: &Path, cmdline: &str, env: &[(&str, &str)]) -> String {
    let mut c = Command::new("script");
    c.args(["-qec", cmdline, "/dev/null"]).current_dir(dir).env_remove("NO_COLOR");
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.output().expect("script (util-linux) runs");
    String::from_utf8_lossy(&out.stdout).to_string()
}

#[test]
fn color_follows_the_terminal_the_flag_and_the_environment() {
    let Some(_) = common::require_tool("script", "color_follows_the_terminal_the_flag_and_the_environment") else {
        return;
    };
    let d = tempfile::tempdir().unwrap();
    write_files(d.path(), &[("m/0001_drop.sql", "DROP TABLE users;\n")]);
    let cmd = |extra: &str| format!("'{BIN}' lint --no-config m {extra}");
    assert!(has_ansi(&in_pty(d.path(), &cmd(""), &[])), "a terminal gets colour");
    assert!(!has_ansi(&in_pty(d.path(), &cmd("--color never"), &[])));
    assert!(!has_ansi(&in_pty(d.path(), &cmd(""), &[("NO_COLOR", "1")])));
    // Not a terminal: no colour unless asked.
    let plain = |args: &[&str], env: &[(&str, &str)]| {
        let mut c = Command::new(BIN);
        c.args(["lint", "--no-config", "m"]).args(args).current_dir(d.path()).env_remove("NO_COLOR");
        for k in ["FORCE_COLOR", "CLICOLOR_FORCE"] {
            c.env_remove(k);
        }
        for (k, v) in env {
            c.env(k, v);
        }
        stdout(&c.output().unwrap())
    };
    assert!(!has_ansi(&plain(&[], &[])));
    assert!(has_ansi(&plain(&["--color", "always"], &[])));
    assert!(has_ansi(&plain(&[], &[("FORCE_COLOR", "1")])));
    assert!(has_ansi(&plain(&[], &[("CLICOLOR_FORCE", "1")])));
    assert!(!has_ansi(&plain(&[], &[("CLICOLOR_FORCE", "0")])));
    assert!(!has_ansi(&plain(&["--color", "never"], &[("FORCE_COLOR", "1")])));
}

#[test]
fn pg_version_takes_major_or_major_minor_for_every_subcommand() {
    let d = tempfile::tempdir().unwrap();
    write_files(d.path(), &[("m/0001.sql", "ALTER TABLE users ALTER COLUMN name TYPE varchar(20);\n")]);
    for v in ["16", "16.2", "9.6"] {
        let out = run_in(d.path(), &["lint", "--no-config", "--pg-version", v, "m"]);
        assert_ne!(out.status.code(), Some(2), "{v}: {}", stderr(&out));
        let out = run_in(d.path(), &["plan", "--no-config", "--pg-version", v, "m/0001.sql"]);
        assert_ne!(out.status.code(), Some(2), "plan {v}: {}", stderr(&out));
    }
    for v in ["99", "16.2.1", "x", "16."] {
        for sub in [
            &["lint", "--no-config", "--pg-version", v, "m"][..],
            &["plan", "--no-config", "--pg-version", v, "m/0001.sql"],
        ] {
            let out = run_in(d.path(), sub);
            assert_eq!(out.status.code(), Some(2), "{sub:?} must be refused");
            assert!(stderr(&out).contains("PostgreSQL version"), "{sub:?}: {}", stderr(&out));
        }
    }
    // The config file takes the same forms, and plan reads it too.
    write_files(d.path(), &[("migrade.toml", "pg_version = \"16.2\"\n")]);
    let out = run_in(d.path(), &["lint", "m"]);
    assert_ne!(out.status.code(), Some(2), "{}", stderr(&out));
    write_files(d.path(), &[("migrade.toml", "pg_version = 99\n")]);
    for sub in [&["lint", "m"][..], &["plan", "m/0001.sql"]] {
        let out = run_in(d.path(), sub);
        assert_eq!(out.status.code(), Some(2), "{sub:?}");
        assert!(stderr(&out).contains("pg_version"), "{}", stderr(&out));
    }
}

#[test]
fn sarif_rules_link_their_page_and_security_rules_carry_a_severity() {
    let d = tempfile::tempdir().unwrap();
    write_files(
        d.path(),
        &[("m/0001.sql", "ALTER TABLE users DROP COLUMN email;\nGRANT SELECT ON users TO PUBLIC;\n")],
    );
    let out = run_in(d.path(), &["lint", "--no-config", "--format", "sarif", "m"]);
    let v = json_of(&out);
    let rules = v["runs"][0]["tool"]["driver"]["rules"].as_array().unwrap();
    for r in rules {
        let id = r["id"].as_str().unwrap();
        let uri = r["helpUri"].as_str().unwrap_or_else(|| panic!("{id}: no helpUri"));
        assert!(uri.starts_with("https://") && uri.ends_with(&format!("/rules/{id}.md")), "{uri}");
        let full = r["fullDescription"]["text"].as_str().unwrap();
        assert!(!full.starts_with("Tag:") && !full.contains("[tags]"), "{id}: {full}");
        let tags: Vec<&str> = r["properties"]["tags"]
            .as_array()
            .map(|t| t.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let sev = r["properties"]["security-severity"].as_str();
        if tags.contains(&"security") {
            let s: f64 = sev.unwrap_or_else(|| panic!("{id}: no security-severity")).parse().unwrap();
            assert!((0.1..=10.0).contains(&s), "{id}: {s}");
        } else {
            assert!(sev.is_none(), "{id}");
        }
    }
    assert!(rules.iter().any(|r| r["properties"]["security-severity"].is_string()));
    // A result's message is the finding; its advice is a separate property.
    for res in v["runs"][0]["results"].as_array().unwrap() {
        let msg = res["message"]["text"].as_str().unwrap();
        if let Some(help) = res["properties"]["help"].as_str() {
            assert!(!msg.contains(help), "{msg}");
        }
    }
    let drop = v["runs"][0]["results"].as_array().unwrap().iter().find(|r| r["ruleId"] == "drop-column").unwrap();
    assert!(drop["properties"]["help"].is_string(), "{drop:#}");
}

#[test]
fn help_describes_every_argument_with_values_exit_codes_and_an_example() {
    let d = tempfile::tempdir().unwrap();
    let lint = stdout(&run_in(d.path(), &["lint", "--help"]));
    for want in ["very-high", "golang-migrate", "Exit codes", "Examples", "--stdin-filename", "--color"] {
        assert!(lint.contains(want), "lint --help lacks {want}:\n{lint}");
    }
    for sub in [&["lint", "--help"][..], &["plan", "--help"], &["explain", "--help"], &["completions", "--help"]] {
        let help = stdout(&run_in(d.path(), sub));
        // An argument line is `  -x, --flag <V>  text` or `  <ARG>  text`: text must follow.
        let mut in_args = false;
        let lines: Vec<&str> = help.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            if line.ends_with(':') && !line.starts_with(' ') {
                in_args = line.starts_with("Arguments") || line.starts_with("Options");
                continue;
            }
            let t = line.trim_start();
            if in_args
                && line.starts_with("  ")
                && !line.starts_with("       ")
                && (t.starts_with('-') || t.starts_with('<'))
            {
                // Long help goes on the next, deeper-indented line.
                let next_line = lines.get(i + 1).is_some_and(|n| n.starts_with("          ") && !n.trim().is_empty());
                let described = t.split("  ").filter(|s| !s.trim().is_empty()).count() > 1 || next_line;
                assert!(described, "{sub:?}: no description: {line}\n{help}");
            }
        }
    }
}

#[test]
fn completions_and_man_page() {
    let d = tempfile::tempdir().unwrap();
    let bash = run_in(d.path(), &["completions", "bash"]);
    assert_eq!(bash.status.code(), Some(0));
    let bash = stdout(&bash);
    assert!(bash.contains("complete") && bash.contains("--fail-on") && bash.contains("very-high"), "{bash}");
    for shell in ["zsh", "fish", "elvish", "powershell"] {
        let o = run_in(d.path(), &["completions", shell]);
        assert!(o.status.success() && stdout(&o).contains("migrade"), "{shell}");
    }
    let man = run_in(d.path(), &["man"]);
    assert_eq!(man.status.code(), Some(0));
    let man = stdout(&man);
    assert!(man.starts_with(".ie") || man.contains(".TH migrade"), "{}", &man[..man.len().min(300)]);
    assert!(man.contains("lint"));
    // bash can load the script.
    if let Some(bash_bin) = common::on_path("bash") {
        let f = d.path().join("migrade.bash");
        std::fs::write(&f, stdout(&run_in(d.path(), &["completions", "bash"]))).unwrap();
        let o = Command::new(bash_bin)
            .arg("-c")
            .arg(format!("source '{}' && complete -p migrade", f.display()))
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
    }
}
