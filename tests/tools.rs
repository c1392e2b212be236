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

/// Lints `files` (under `m/`, plus any project file) and returns the migration files in
/// the order migrade applies them, and each file's layout.
fn order_of(files: &[(&str, &str)], args: &[&str]) -> (Vec<String>, Vec<String>) {
    let d = tempfile::tempdir().unwrap();
    write_files(d.path(), files);
    let mut a = vec!["--no-config"];
    a.extend_from_slice(args);
    a.push("m");
    let (v, _) = lint(d.path(), &a);
    let layouts = v["files"].as_array().unwrap().iter().map(|f| f["layout"].as_str().unwrap_or("").to_string());
    (paths(&v), layouts.collect())
}

// Each tool's file order, one by one. The versions 9 and 10 sort differently as text
// ("10" < "9") and as numbers (9 < 10): that is where the tools differ.

#[test]
fn golang_migrate_orders_versions_as_unsigned_integers() {
    // golang-migrate source/parse.go: strconv.ParseUint of the leading digits.
    let (order, layouts) = order_of(
        &[("m/10_b.up.sql", "ALTER TABLE t ADD COLUMN b text;\n"), ("m/9_a.up.sql", "CREATE TABLE t (id int);\n")],
        &[],
    );
    assert_eq!(order, ["m/9_a.up.sql", "m/10_b.up.sql"]);
    assert_eq!(layouts[0], "golang-migrate");
}

#[test]
fn goose_orders_versions_as_integers() {
    // goose NumericComponent: strconv.ParseInt of the part before the first `_`.
    let up = |sql: &str| format!("-- +goose Up\n{sql}\n-- +goose Down\nSELECT 1;\n");
    let (order, layouts) = order_of(
        &[("m/10_b.sql", &up("ALTER TABLE t ADD COLUMN b text;")), ("m/9_a.sql", &up("CREATE TABLE t (id int);"))],
        &[],
    );
    assert_eq!(order, ["m/9_a.sql", "m/10_b.sql"]);
    assert_eq!(layouts[0], "goose");
}

#[test]
fn sqlx_orders_versions_as_integers() {
    // sqlx-core/src/migrate/source.rs: `parse::<i64>` of the version, sort_by_key(version).
    let (order, layouts) = order_of(
        &[
            ("Cargo.toml", "[package]\nname = \"app\"\n\n[dependencies]\nsqlx = \"0.8\"\n"),
            ("m/10_b.sql", "ALTER TABLE t ADD COLUMN b text;\n"),
            ("m/9_a.sql", "CREATE TABLE t (id int);\n"),
        ],
        &[],
    );
    assert_eq!(order, ["m/9_a.sql", "m/10_b.sql"]);
    assert_eq!(layouts[0], "sqlx");
}

#[test]
fn flyway_orders_each_version_part_as_a_number() {
    // Flyway MigrationVersion: dot/underscore-separated parts compared as numbers;
    // repeatable R__ files run after every versioned one.
    let (order, _) = order_of(
        &[
            ("m/R__views.sql", "CREATE OR REPLACE VIEW v AS SELECT 1 AS x;\n"),
            ("m/V1_10__c.sql", "SELECT 1;\n"),
            ("m/V1_9__b.sql", "SELECT 1;\n"),
            ("m/V1__a.sql", "SELECT 1;\n"),
            ("m/V2__d.sql", "SELECT 1;\n"),
        ],
        &[],
    );
    assert_eq!(order, ["m/V1__a.sql", "m/V1_9__b.sql", "m/V1_10__c.sql", "m/V2__d.sql", "m/R__views.sql"]);
}

#[test]
fn popx_orders_versions_as_text() {
    // ory/x popx/migration_info.go compareMigration: strings.Compare(a.Version, b.Version),
    // so version 10 runs before version 9.
    let (order, layouts) = order_of(
        &[
            ("m/9_a.postgres.up.sql", "CREATE TABLE t (id int);\n"),
            ("m/10_b.postgres.up.sql", "CREATE TABLE u (id int);\n"),
            ("m/10_b.postgres.down.sql", "DROP TABLE u;\n"),
        ],
        &[],
    );
    let ups: Vec<&String> = order.iter().filter(|p| p.ends_with(".up.sql")).collect();
    assert_eq!(ups, ["m/10_b.postgres.up.sql", "m/9_a.postgres.up.sql"]);
    assert_eq!(layouts[0], "popx");
}

#[test]
fn dbmate_orders_file_names_as_text() {
    // dbmate pkg/dbmate/db.go FindMigrations: sort.Slice by FileName (a string).
    let mig = |sql: &str| format!("-- migrate:up\n{sql}\n-- migrate:down\nSELECT 1;\n");
    let files = [("m/9_a.sql", mig("CREATE TABLE t (id int);")), ("m/10_b.sql", mig("CREATE TABLE u (id int);"))];
    let files: Vec<(&str, &str)> = files.iter().map(|(p, s)| (*p, s.as_str())).collect();
    let (order, layouts) = order_of(&files, &[]);
    assert_eq!(order, ["m/10_b.sql", "m/9_a.sql"]);
    assert_eq!(layouts[0], "dbmate");
    // The same files without dbmate's sections are plain files, ordered as numbers.
    let (order, _) = order_of(&[("m/9_a.sql", "SELECT 1;\n"), ("m/10_b.sql", "SELECT 1;\n")], &[]);
    assert_eq!(order, ["m/9_a.sql", "m/10_b.sql"]);
}

#[test]
fn prisma_orders_migration_folders_as_text() {
    // prisma-engines list_migrations: the folders sorted by name as strings.
    let (order, layouts) = order_of(
        &[
            ("m/9_a/migration.sql", "CREATE TABLE t (id int);\n"),
            ("m/10_b/migration.sql", "CREATE TABLE u (id int);\n"),
        ],
        &[],
    );
    assert_eq!(order, ["m/10_b/migration.sql", "m/9_a/migration.sql"]);
    assert_eq!(layouts[0], "prisma");
}

#[test]
fn diesel_orders_versions_as_text_without_dashes() {
    // migrations_internals::version_from_string: the name before the first `_`, `-`
    // removed; diesel_migrations sorts pending migrations by that string.
    let files = [
        ("m/9_a/up.sql", "CREATE TABLE t (id int);\n"),
        ("m/10_b/up.sql", "CREATE TABLE u (id int);\n"),
        ("m/2019-03-22-170700_c/up.sql", "CREATE TABLE v (id int);\n"),
        ("m/20190322170659_d/up.sql", "CREATE TABLE w (id int);\n"),
    ];
    let (order, layouts) = order_of(&files, &[]);
    assert_eq!(order, ["m/10_b/up.sql", "m/20190322170659_d/up.sql", "m/2019-03-22-170700_c/up.sql", "m/9_a/up.sql"]);
    assert_eq!(layouts[0], "diesel");
}

#[test]
fn all_pending_holds_earlier_files_locks_while_later_ones_run() {
    let d = tempfile::tempdir().unwrap();
    write_files(
        d.path(),
        &[
            (
                "m/0001_users.sql",
                "CREATE TABLE users (id bigint PRIMARY KEY, email text);\nCREATE TABLE orders (id bigint PRIMARY KEY);\n",
            ),
            ("m/0002_note.sql", "ALTER TABLE users ADD COLUMN note text;\n"),
            ("m/0003_backfill.sql", "UPDATE users SET note = '';\n"),
            ("m/0004_other.sql", "ALTER TABLE orders ADD COLUMN total int;\n"),
        ],
    );
    let named = ["m/0002_note.sql", "m/0003_backfill.sql", "m/0004_other.sql"];
    let held = |v: &Value, f: &str| -> Vec<String> {
        file(v, f)["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|x| x["message"].as_str().unwrap().contains("is still held while this file runs"))
            .map(|x| x["message"].as_str().unwrap().to_string())
            .collect()
    };
    let scan = |v: &Value, f: &str| rules(file(v, f)).contains(&"scan-while-holding-access-exclusive".to_string());
    // Per file: each file's transaction ends with it.
    write_files(d.path(), &[("migrade.toml", "transaction = \"per-file\"\n")]);
    let (v, _) = lint(d.path(), &named);
    assert!(held(&v, "0003_backfill.sql").is_empty() && !scan(&v, "0003_backfill.sql"), "{v:#}");
    // All pending files (the three named; 0001 is history) in one transaction: the
    // ACCESS EXCLUSIVE on users from 0002 is held through 0003's full-table UPDATE and 0004.
    write_files(d.path(), &[("migrade.toml", "transaction = \"all-pending\"\n")]);
    let (v, _) = lint(d.path(), &named);
    let h = held(&v, "0003_backfill.sql");
    assert!(h.len() == 1 && h[0].contains("users taken by 0002_note.sql statement 1"), "{h:?}");
    assert!(scan(&v, "0003_backfill.sql"), "{v:#}");
    let h = held(&v, "0004_other.sql");
    assert!(h.len() == 1 && h[0].contains("users taken by 0002_note.sql statement 1"), "{h:?}");
    assert!(held(&v, "0002_note.sql").is_empty());
    // The first pending file: nothing is held before it, whatever the history.
    let (v, _) = lint(d.path(), &["m/0003_backfill.sql", "m/0004_other.sql"]);
    assert!(held(&v, "0003_backfill.sql").is_empty() && !scan(&v, "0003_backfill.sql"), "{v:#}");
}

#[test]
fn version_named_folders_of_plain_files_are_one_history() {
    // temporal-sql-tool: versioned/v1.0/schema.sql, versioned/v1.10/x.sql ... are applied
    // to one database in version order; a later folder sees the tables of an earlier one.
    let files = [
        ("m/versioned/v1.0/schema.sql", "CREATE TABLE t (k int PRIMARY KEY, a int, b text);\n"),
        ("m/versioned/v1.10/b.sql", "ALTER TABLE t DROP COLUMN b;\n"),
        ("m/versioned/v1.2/a.sql", "ALTER TABLE t ALTER COLUMN a TYPE bigint;\n"),
        ("m/versioned/v1.2/0_first.sql", "CREATE INDEX t_a ON t (a);\n"),
    ];
    let (order, _) = order_of(&files, &[]);
    assert_eq!(
        order,
        [
            "m/versioned/v1.0/schema.sql",
            "m/versioned/v1.2/0_first.sql",
            "m/versioned/v1.2/a.sql",
            "m/versioned/v1.10/b.sql"
        ]
    );
    let d = tempfile::tempdir().unwrap();
    write_files(d.path(), &files);
    let (v, _) = lint(d.path(), &["--no-config", "m"]);
    // The table is known from v1.0: the plan batches on its key k, not a guessed id.
    let f = file(&v, "v1.10/b.sql");
    let plan = f["plan"].as_array().unwrap().iter().map(|p| p["sql"].as_str().unwrap()).collect::<String>();
    assert!(plan.contains("SELECT k, b FROM t") && !plan.contains(" id"), "{f:#}");
}
