//! Each migration tool's files and transactions (issue 12, RISK-MODEL.md
//! "Transactions"): ory popx dialect files, sqlx, Prisma's version, the
//! `transaction` config key, and version-named folders ordered as versions.

mod common;

use common::write_files;
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_migrade");

fn lint(dir: &Path, args: &[&str]) -> (Value, Output) {
    let out = Command::new(BIN)
        .args(["lint", "--format", "json"])
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("run migrade");
    let v = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("not JSON ({e}): {}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
    });
    (v, out)
}

fn file<'a>(v: &'a Value, suffix: &str) -> &'a Value {
    v["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"].as_str().unwrap().ends_with(suffix))
        .unwrap_or_else(|| panic!("no file {suffix} in {:?}", paths(v)))
}

fn paths(v: &Value) -> Vec<String> {
    v["files"].as_array().unwrap().iter().map(|f| f["path"].as_str().unwrap().to_string()).collect()
}

fn rules(f: &Value) -> Vec<String> {
    f["findings"].as_array().unwrap().iter().map(|x| x["rule"].as_str().unwrap().to_string()).collect()
}

const CIC_WITH_ANOTHER: &str =
    "SET lock_timeout = '5s';\nCREATE INDEX CONCURRENTLY users_email_idx ON users (email);\n";

#[test]
fn popx_runs_postgres_files_skips_other_dialects_and_pairs_downs_by_version() {
    let d = tempfile::tempdir().unwrap();
    write_files(
        d.path(),
        &[
            ("m/1_users.postgres.up.sql", "CREATE TABLE users (id uuid PRIMARY KEY, email text);\n"),
            ("m/1_users.postgres.down.sql", "DROP TABLE users;\n"),
            ("m/1_users.mysql.up.sql", "CREATE TABLE users (id char(36) NOT NULL, PRIMARY KEY (id)) ENGINE=InnoDB;\n"),
            ("m/1_users.sqlite3.up.sql", "CREATE TABLE users (id TEXT PRIMARY KEY);\n"),
            ("m/1_users.cockroach.up.sql", "CREATE TABLE users (id UUID PRIMARY KEY);\n"),
            // Dialect-free: replaced by the .postgres. file of the same version.
            ("m/1_users.up.sql", "CREATE TABLE users (id text);\n"),
            // A .postgres. up with only a dialect-free down: paired (no missing down).
            ("m/2_drop_email.postgres.up.sql", "ALTER TABLE users DROP COLUMN email;\n"),
            ("m/2_drop_email.down.sql", "ALTER TABLE users ADD COLUMN email text;\n"),
            // No down at all.
            (
                "m/3_add_name.postgres.up.sql",
                "ALTER TABLE users ADD COLUMN name text NOT NULL DEFAULT 'x';\nUPDATE users SET name = email;\n",
            ),
            // autocommit: one multi-statement query (an implicit transaction when several).
            ("m/4_idx.autocommit.up.sql", "CREATE INDEX CONCURRENTLY users_name_idx ON users (name);\n"),
            ("m/4_idx.autocommit.down.sql", "DROP INDEX CONCURRENTLY users_name_idx;\n"),
            ("m/5_idx2.autocommit.up.sql", CIC_WITH_ANOTHER),
            ("m/5_idx2.autocommit.down.sql", "DROP INDEX CONCURRENTLY users_email_idx;\n"),
        ],
    );
    let (v, out) = lint(d.path(), &["--no-config", "m"]);
    let p = paths(&v);
    assert!(
        p.iter().all(|p| !p.contains(".mysql.") && !p.contains(".sqlite3.") && !p.contains(".cockroach.")),
        "{p:?}"
    );
    assert!(!p.iter().any(|p| p.ends_with("m/1_users.up.sql")), "the dialect-free file is replaced: {p:?}");
    assert!(v["files"].as_array().unwrap().iter().all(|f| f["layout"] == "popx"));
    assert!(v["files"].as_array().unwrap().iter().all(|f| !rules(f).contains(&"unparsable-statement".to_string())));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("skipped 3 files for other databases") && err.contains("1 dialect-free"), "{err}");
    // Pairing by version.
    assert!(!rules(file(&v, "2_drop_email.postgres.up.sql")).contains(&"missing-down-migration".to_string()));
    assert!(rules(file(&v, "3_add_name.postgres.up.sql")).contains(&"missing-down-migration".to_string()));
    // Transactions: per-file for ordinary files; autocommit as one query.
    let single = rules(file(&v, "4_idx.autocommit.up.sql"));
    assert!(!single.contains(&"concurrently-in-transaction".to_string()), "{single:?}");
    let multi = rules(file(&v, "5_idx2.autocommit.up.sql"));
    assert!(multi.contains(&"concurrently-in-transaction".to_string()), "{multi:?}");
}

#[test]
fn sqlx_runs_each_file_in_a_transaction_unless_no_transaction() {
    let d = tempfile::tempdir().unwrap();
    write_files(
        d.path(),
        &[
            (
                "Cargo.toml",
                "[package]\nname = \"app\"\n\n[dependencies]\nsqlx = { version = \"0.8\", features = [\"postgres\"] }\n",
            ),
            ("migrations/20240101000000_users.sql", "CREATE TABLE users (id bigint PRIMARY KEY, email text);\n"),
            ("migrations/20240102000000_idx.sql", "CREATE INDEX CONCURRENTLY users_email_idx ON users (email);\n"),
            (
                "migrations/20240103000000_idx2.sql",
                "-- no-transaction\nCREATE INDEX CONCURRENTLY users_email2_idx ON users (email);\n",
            ),
        ],
    );
    let (v, _) = lint(d.path(), &["--no-config", "migrations"]);
    assert!(v["files"].as_array().unwrap().iter().all(|f| f["layout"] == "sqlx"), "{v:#}");
    assert!(rules(file(&v, "_idx.sql")).contains(&"concurrently-in-transaction".to_string()));
    assert!(!rules(file(&v, "_idx2.sql")).contains(&"concurrently-in-transaction".to_string()));
    // The same folder outside a sqlx project is plain: no transaction.
    std::fs::remove_file(d.path().join("Cargo.toml")).unwrap();
    let (v, _) = lint(d.path(), &["--no-config", "migrations"]);
    assert_eq!(file(&v, "_idx.sql")["layout"], "plain");
    assert!(!rules(file(&v, "_idx.sql")).contains(&"concurrently-in-transaction".to_string()));
}

#[test]
fn prisma_runs_the_file_as_one_script_unless_its_version_splits_it() {
    let d = tempfile::tempdir().unwrap();
    write_files(
        d.path(),
        &[
            (
                "prisma/migrations/20240101000000_init/migration.sql",
                "CREATE TABLE users (id bigint PRIMARY KEY, email text);\n",
            ),
            ("prisma/migrations/20240102000000_idx/migration.sql", CIC_WITH_ANOTHER),
        ],
    );
    let cic = |v: &Value| rules(file(v, "_idx/migration.sql")).contains(&"concurrently-in-transaction".to_string());
    // No version known: the conservative one-script case.
    let (v, _) = lint(d.path(), &["--no-config", "prisma/migrations"]);
    assert!(cic(&v), "{v:#}");
    for (version, splits) in [("^6.19.0", false), ("^7.4.0", true)] {
        write_files(d.path(), &[("package.json", &format!("{{\"devDependencies\": {{\"prisma\": \"{version}\"}}}}"))]);
        let (v, _) = lint(d.path(), &["--no-config", "prisma/migrations"]);
        assert_eq!(cic(&v), !splits, "prisma {version}");
    }
    // Configuration overrides what the layout says.
    write_files(d.path(), &[("migrade.toml", "transaction = \"none\"\n")]);
    write_files(d.path(), &[("package.json", "{\"devDependencies\": {\"prisma\": \"6.1.0\"}}")]);
    let (v, _) = lint(d.path(), &["prisma/migrations"]);
    assert!(!cic(&v));
}

#[test]
fn transaction_config_key_says_how_the_runner_wraps_files() {
    let d = tempfile::tempdir().unwrap();
    write_files(
        d.path(),
        &[
            ("m/0001_users.sql", "CREATE TABLE users (id bigint PRIMARY KEY, email text);\n"),
            ("m/0002_idx.sql", "CREATE INDEX CONCURRENTLY users_email_idx ON users (email);\n"),
        ],
    );
    let cic = |v: &Value| rules(file(v, "0002_idx.sql")).contains(&"concurrently-in-transaction".to_string());
    let (v, _) = lint(d.path(), &["m"]);
    assert!(!cic(&v), "plain files: no transaction");
    for (mode, wrapped) in [("per-file", true), ("all-pending", true), ("none", false)] {
        write_files(d.path(), &[("migrade.toml", &format!("transaction = \"{mode}\"\n"))]);
        let (v, _) = lint(d.path(), &["m"]);
        assert_eq!(cic(&v), wrapped, "{mode}");
    }
    write_files(d.path(), &[("migrade.toml", "transaction = \"sometimes\"\n")]);
    let out = Command::new(BIN).args(["lint", "m"]).current_dir(d.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("per-file"), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn version_named_folders_sort_as_versions() {
    let d = tempfile::tempdir().unwrap();
    write_files(
        d.path(),
        &[
            ("m/v1.2/up.sql", "CREATE TABLE users (id bigint PRIMARY KEY, email text);\n"),
            ("m/v1.10/up.sql", "ALTER TABLE users ADD COLUMN note text;\n"),
            ("m/v1.9/up.sql", "ALTER TABLE users ALTER COLUMN email TYPE varchar(20);\n"),
        ],
    );
    let (v, _) = lint(d.path(), &["--no-config", "m"]);
    assert_eq!(paths(&v), ["m/v1.2/up.sql", "m/v1.9/up.sql", "m/v1.10/up.sql"]);
    // v1.9 knows email is text from v1.2: text -> varchar(20) is a rewrite, high.
    let f = file(&v, "v1.9/up.sql");
    let change = f["findings"].as_array().unwrap().iter().find(|x| x["rule"] == "change-column-type").unwrap();
    assert_eq!(change["level"], "high", "{f:#}");
}

#[test]
fn a_comment_only_down_is_no_rollback_and_a_folder_name_gives_the_stage() {
    let d = tempfile::tempdir().unwrap();
    write_files(
        d.path(),
        &[
            ("m/000001_users.up.sql", "CREATE TABLE users (id bigint PRIMARY KEY, email text);\n"),
            ("m/000001_users.down.sql", "DROP TABLE users;\n"),
            ("m/000002_drop_email.up.sql", "ALTER TABLE users DROP COLUMN email;\n"),
            ("m/000002_drop_email.down.sql", "-- irreversible\n\n-- (nothing to do)\n"),
            (
                "m/000003_note.up.sql",
                "ALTER TABLE users ADD COLUMN note text NOT NULL DEFAULT '';\nUPDATE users SET note = 'x';\n",
            ),
            // Prisma: the stage comes from the folder's name.
            ("p/migrations/20240101000000_init/migration.sql", "CREATE TABLE t (id bigint PRIMARY KEY, a text);\n"),
            (
                "p/migrations/20240102000000_drop_a/migration.sql",
                "ALTER TABLE t DROP COLUMN a;\nALTER TABLE t ADD COLUMN b text;\n",
            ),
        ],
    );
    let (v, _) = lint(d.path(), &["--no-config", "m"]);
    let missing = |f: &Value| {
        f["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["rule"] == "missing-down-migration")
            .map(|x| x["message"].as_str().unwrap().to_string())
    };
    let empty = missing(file(&v, "000002_drop_email.up.sql")).expect("a comment-only down is no rollback");
    assert!(empty.contains("has no rollback") && empty.contains("holds only comments"), "{empty}");
    let none = missing(file(&v, "000003_note.up.sql")).expect("no down at all");
    assert!(none.contains("has no down migration"), "{none}");
    // Statement numbers: messages and JSON agree (from 1).
    for f in v["files"].as_array().unwrap() {
        for s in f["statements"].as_array().unwrap() {
            assert_eq!(s["number"].as_u64().unwrap(), s["index"].as_u64().unwrap() + 1);
        }
        for x in f["findings"].as_array().unwrap() {
            if let Some(i) = x["statement"].as_u64() {
                assert_eq!(x["statement_number"].as_u64(), Some(i + 1));
            }
        }
    }
    let (v, _) = lint(d.path(), &["--no-config", "p/migrations"]);
    let f = file(&v, "_drop_a/migration.sql");
    let stage = f["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["rule"] == "stage-name-mismatch")
        .expect("stage from the folder");
    let msg = stage["message"].as_str().unwrap();
    assert!(msg.contains("'drop_a' says stage 2"), "{msg}");
    let n = stage["statement_number"].as_u64().unwrap();
    assert!(msg.contains(&format!("statement {n} ")), "the message numbers the statement as the JSON does: {msg}");
}
