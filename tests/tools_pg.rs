//! Each migration tool's transaction behaviour, as migrade models it, held
//! against a real PostgreSQL: the file is run the way the tool runs it (inside
//! one transaction, as one multi-statement query, or statement by statement)
//! and the server's answer must match migrade's claims: whether each statement
//! runs inside a transaction (locks held to the end) and whether CONCURRENTLY
//! fails there (`concurrently-in-transaction`). With `transaction = "all-pending"`,
//! the lock an earlier pending file took is still held in the next file, as migrade
//! says there.
//!
//! Like tests/real_pg.rs it needs Debian's `postgresql` (or MIGRADE_PG_BINDIR);
//! MIGRADE_SKIP_PG=1 skips it loudly.

mod common;
mod pg;

use common::write_files;
use pg::server::{self, Server};
use serde_json::Value;
use std::io::Write;
use std::path::Path;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_migrade");

/// How a tool sends a file to the server.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Run {
    /// Inside one explicit transaction (popx, sqlx, Diesel, dbmate ...).
    Transaction,
    /// The whole file as one multi-statement simple query (golang-migrate,
    /// popx `.autocommit`, sqlx `-- no-transaction`, Prisma before 7.4).
    OneQuery,
    /// Statement by statement, autocommit (psql -f, Prisma 7.4+).
    Statements,
}

struct Case {
    name: String,
    /// Files of the folder (the last one is the one checked), plus project files.
    files: Vec<(&'static str, String)>,
    run: Run,
}

impl Case {
    /// The file checked: the last .sql file of the folder (path, text).
    fn checked(&self) -> (&str, &str) {
        let (p, t) = self.files.iter().rev().find(|(p, _)| p.ends_with(".sql")).expect("a .sql file");
        (p, t)
    }
}

const USERS: &str = "CREATE TABLE users (id bigint PRIMARY KEY, email text);\n";
/// Two statements, the first taking ACCESS EXCLUSIVE on users.
const ALTER_TWO: &str = "ALTER TABLE users ADD COLUMN note text;\nUPDATE users SET note = 'x';\n";
const CIC_TWO: &str = "SET lock_timeout = '5s';\nCREATE INDEX CONCURRENTLY users_email_idx ON users (email);\n";

fn cases() -> Vec<Case> {
    let sqlx_cargo = ("Cargo.toml", "[package]\nname = \"a\"\n[dependencies]\nsqlx = \"0.8\"\n".to_string());
    let prisma = |v: &str| ("package.json", format!("{{\"devDependencies\": {{\"prisma\": \"{v}\"}}}}"));
    let mut out = Vec::new();
    for (body, tag) in [(ALTER_TWO, "ALTER + UPDATE"), (CIC_TWO, "SET + CIC")] {
        let b = body.to_string();
        out.push(Case {
            name: format!("popx per-file, {tag}"),
            files: vec![("m/1_users.postgres.up.sql", USERS.into()), ("m/2_x.postgres.up.sql", b.clone())],
            run: Run::Transaction,
        });
        out.push(Case {
            name: format!("popx autocommit, {tag}"),
            files: vec![("m/1_users.postgres.up.sql", USERS.into()), ("m/2_x.autocommit.up.sql", b.clone())],
            run: Run::OneQuery,
        });
        out.push(Case {
            name: format!("sqlx, {tag}"),
            files: vec![sqlx_cargo.clone(), ("m/1_users.sql", USERS.into()), ("m/2_x.sql", b.clone())],
            run: Run::Transaction,
        });
        out.push(Case {
            name: format!("sqlx no-transaction, {tag}"),
            files: vec![
                sqlx_cargo.clone(),
                ("m/1_users.sql", USERS.into()),
                ("m/2_x.sql", format!("-- no-transaction\n{b}")),
            ],
            run: Run::OneQuery,
        });
        out.push(Case {
            name: format!("prisma 6, {tag}"),
            files: vec![
                prisma("6.19.0"),
                ("prisma/migrations/1_users/migration.sql", USERS.into()),
                ("prisma/migrations/2_x/migration.sql", b.clone()),
            ],
            run: Run::OneQuery,
        });
        out.push(Case {
            name: format!("prisma 7.4, {tag}"),
            files: vec![
                prisma("7.4.0"),
                ("prisma/migrations/1_users/migration.sql", USERS.into()),
                ("prisma/migrations/2_x/migration.sql", b.clone()),
            ],
            run: Run::Statements,
        });
    }
    // The layouts whose transactions were modelled before: each tool's way, held to the server too.
    for (body, tag) in [(ALTER_TWO, "ALTER + UPDATE"), (CIC_TWO, "SET + CIC")] {
        let b = body.to_string();
        let name = |tool: &str| format!("{tool}, {tag}");
        // golang-migrate sends the file as one multi-statement query (database/postgres driver).
        out.push(Case {
            name: name("golang-migrate"),
            files: vec![("m/000001_users.up.sql", USERS.into()), ("m/000002_x.up.sql", b.clone())],
            run: Run::OneQuery,
        });
        // Diesel: a transaction per migration, none with run_in_transaction = false.
        out.push(Case {
            name: name("diesel"),
            files: vec![
                ("m/2024-01-01-000000_users/up.sql", USERS.into()),
                ("m/2024-01-02-000000_x/up.sql", b.clone()),
            ],
            run: Run::Transaction,
        });
        out.push(Case {
            name: name("diesel run_in_transaction=false"),
            files: vec![
                ("m/2024-01-01-000000_users/up.sql", USERS.into()),
                ("m/2024-01-02-000000_x/metadata.toml", "run_in_transaction = false\n".into()),
                ("m/2024-01-02-000000_x/up.sql", b.clone()),
            ],
            run: Run::Statements,
        });
        // Flyway: a transaction unless every statement is non-transactional.
        out.push(Case {
            name: name("flyway"),
            files: vec![("m/V1__users.sql", USERS.into()), ("m/V2__x.sql", b.clone())],
            run: Run::Transaction,
        });
        // dbmate: a transaction per migration unless `transaction:false`.
        out.push(Case {
            name: name("dbmate"),
            files: vec![
                ("m/20240101000000_users.sql", format!("-- migrate:up\n{USERS}")),
                ("m/20240102000000_x.sql", format!("-- migrate:up\n{b}")),
            ],
            run: Run::Transaction,
        });
        out.push(Case {
            name: name("dbmate transaction:false"),
            files: vec![
                ("m/20240101000000_users.sql", format!("-- migrate:up\n{USERS}")),
                ("m/20240102000000_x.sql", format!("-- migrate:up transaction:false\n{b}")),
            ],
            run: Run::Statements,
        });
        // goose: a transaction unless `-- +goose NO TRANSACTION`.
        out.push(Case {
            name: name("goose"),
            files: vec![
                ("m/00001_users.sql", format!("-- +goose Up\n{USERS}")),
                ("m/00002_x.sql", format!("-- +goose Up\n{b}")),
            ],
            run: Run::Transaction,
        });
        out.push(Case {
            name: name("goose NO TRANSACTION"),
            files: vec![
                ("m/00001_users.sql", format!("-- +goose Up\n{USERS}")),
                ("m/00002_x.sql", format!("-- +goose NO TRANSACTION\n-- +goose Up\n{b}")),
            ],
            run: Run::Statements,
        });
    }
    out
}

/// migrade's claims for the case's last file: each statement's `in_transaction`
/// and whether it reports `concurrently-in-transaction`.
fn claims(case: &Case) -> (Vec<bool>, bool) {
    let d = tempfile::tempdir().unwrap();
    let files: Vec<(&str, &str)> = case.files.iter().map(|(p, t)| (*p, t.as_str())).collect();
    write_files(d.path(), &files);
    let last = case.checked().0;
    let folder = Path::new(last).components().next().unwrap().as_os_str().to_string_lossy().to_string();
    let out = Command::new(BIN)
        .args(["lint", "--no-config", "--format", "json", &folder])
        .current_dir(d.path())
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let f =
        v["files"].as_array().unwrap().iter().find(|f| f["path"] == last).unwrap_or_else(|| panic!("{last}: {v:#}"));
    let in_tx = f["statements"].as_array().unwrap().iter().map(|s| s["in_transaction"].as_bool().unwrap()).collect();
    let cic = f["findings"].as_array().unwrap().iter().any(|x| x["rule"] == "concurrently-in-transaction");
    (in_tx, cic)
}

/// The file's text the way the tool runs it, plus a probe of the locks the
/// session still holds on users afterwards (held to the end in a transaction).
fn run_on_server(server: &Server, case: &Case) -> (bool, bool, String) {
    let reset = server.sql(&format!("DROP TABLE IF EXISTS users CASCADE;\n{USERS}"));
    assert!(reset.ok, "{}: reset: {}", case.name, reset.stderr);
    let text = case.checked().1;
    let probe = "SELECT count(*) FROM pg_locks WHERE pid = pg_backend_pid() AND relation = 'users'::regclass AND mode = 'AccessExclusiveLock'";
    let out = match case.run {
        Run::Transaction => server.sql(&format!("BEGIN;\n{text}\n{probe};\nCOMMIT;\n")),
        Run::Statements => server.sql(&format!("{text}\n{probe};\n")),
        Run::OneQuery => {
            // One simple query holding the file and the probe: psql -c sends it whole.
            let mut c = server.psql_cmd("migrade_tools");
            c.arg("-c").arg(format!("{text}\n{probe};"));
            pg::server::SqlOut::from_output(c.output().unwrap())
        }
    };
    let held = out.stdout.lines().any(|l| l.trim() == "1");
    (out.ok, held, out.stderr)
}

/// The harness's PostgreSQL, or None (said loudly) with MIGRADE_SKIP_PG=1 and none installed.
fn start_server() -> Option<Server> {
    let bins = match server::find_bins() {
        Ok(b) => b,
        Err(e) => {
            if std::env::var("MIGRADE_SKIP_PG").is_ok_and(|v| v == "1") {
                let _ = writeln!(std::io::stderr(), "\n!!! tools_pg SKIPPED (MIGRADE_SKIP_PG=1): {e}\n");
                return None;
            }
            panic!("tools_pg: {e}. Install Debian's postgresql, or set MIGRADE_SKIP_PG=1 to skip.");
        }
    };
    Some(Server::start(&bins).unwrap_or_else(|e| panic!("tools_pg: cannot start PostgreSQL: {e}")))
}

#[test]
fn each_tool_runs_files_the_way_migrade_says() {
    let Some(server) = start_server() else { return };
    let mut failures = Vec::new();
    for case in cases() {
        let (in_tx, cic_claimed) = claims(&case);
        let (ok, held, err) = run_on_server(&server, &case);
        let is_cic = case.checked().1.contains("CONCURRENTLY");
        if is_cic {
            // migrade says the build fails inside a transaction; the server agrees or not.
            let failed_in_tx = !ok && err.contains("cannot run inside a transaction block");
            if failed_in_tx != cic_claimed {
                failures.push(format!(
                    "{}: migrade concurrently-in-transaction={cic_claimed}; server ok={ok}: {}",
                    case.name,
                    err.trim()
                ));
            }
        } else {
            assert!(ok, "{}: {err}", case.name);
            // Every statement in a transaction <=> the ACCESS EXCLUSIVE lock is still held at the end.
            let claimed = in_tx.iter().all(|&t| t);
            if claimed != held || in_tx.iter().any(|&t| t != claimed) {
                failures.push(format!(
                    "{}: migrade in_transaction={in_tx:?}; server still holds the lock: {held}",
                    case.name
                ));
            }
        }
        println!("tools_pg: {:<40} run {:?}: server ok={ok}, lock held={held}", case.name, case.run);
    }
    assert!(failures.is_empty(), "migrade's transaction model differs from PostgreSQL:\n{}", failures.join("\n"));
}

/// `transaction = "all-pending"` (a runner that applies every pending file in one
/// transaction) against `per-file`: on the server, the ACCESS EXCLUSIVE lock the first
/// pending file takes on users is still held after the second file ran only when both
/// run in one transaction; migrade says so on the second file
/// (statements-after-access-exclusive-lock names the lock and the file that took it).
#[test]
fn all_pending_holds_the_earlier_files_locks_the_way_migrade_says() {
    let Some(server) = start_server() else { return };
    let (first, second) = ("ALTER TABLE users ADD COLUMN note text;", "UPDATE users SET note = 'x';");
    let probe = "SELECT count(*) FROM pg_locks WHERE pid = pg_backend_pid() AND relation = 'users'::regclass AND mode = 'AccessExclusiveLock'";
    for (mode, script) in [
        ("all-pending", format!("BEGIN;\n{first}\n{second}\n{probe};\nCOMMIT;\n")),
        ("per-file", format!("BEGIN;\n{first}\nCOMMIT;\nBEGIN;\n{second}\n{probe};\nCOMMIT;\n")),
    ] {
        let reset = server.sql(&format!("DROP TABLE IF EXISTS users CASCADE;\n{USERS}"));
        assert!(reset.ok, "reset: {}", reset.stderr);
        let out = server.sql(&script);
        assert!(out.ok, "{mode}: {}", out.stderr);
        let held = out.stdout.lines().any(|l| l.trim() == "1");

        let d = tempfile::tempdir().unwrap();
        let toml = format!("transaction = \"{mode}\"\n");
        let (a, b) = (format!("{first}\n"), format!("{second}\n"));
        write_files(
            d.path(),
            &[("migrade.toml", &toml), ("m/0001_users.sql", USERS), ("m/0002_note.sql", &a), ("m/0003_fill.sql", &b)],
        );
        let out = Command::new(BIN)
            .args(["lint", "--format", "json", "m/0002_note.sql", "m/0003_fill.sql"])
            .current_dir(d.path())
            .output()
            .unwrap();
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        let f = v["files"].as_array().unwrap().iter().find(|f| f["path"] == "m/0003_fill.sql").unwrap();
        let claimed = f["findings"].as_array().unwrap().iter().any(|x| {
            x["rule"] == "statements-after-access-exclusive-lock"
                && x["message"].as_str().unwrap().contains("users taken by 0002_note.sql")
        });
        println!(
            "tools_pg: transaction = {mode:<12} server still holds the lock in the second file: {held}; migrade says so: {claimed}"
        );
        assert_eq!(claimed, held, "{mode}: migrade and the server disagree: {f:#}");
    }
}

/// `begin-without-commit`, held against the server: a file whose own BEGIN is never
/// committed leaves its transaction open once the tool is done with it (the lock its
/// ALTER took is still held by the session) exactly where migrade reports the rule.
/// The tool's own transaction (dbmate, goose, diesel) is committed by the tool, the
/// file's BEGIN having only warned; golang-migrate's one multi-statement query is
/// followed by another query on the same session, as its version bookkeeping is.
#[test]
fn an_uncommitted_begin_stays_open_where_migrade_says() {
    let Some(server) = start_server() else { return };
    let body = "BEGIN;\nALTER TABLE users ADD COLUMN note text;\n";
    let probe = "SELECT count(*) FROM pg_locks WHERE pid = pg_backend_pid() AND relation = 'users'::regclass AND mode = 'AccessExclusiveLock'";
    let cases = [
        (
            "golang-migrate",
            vec![("m/000001_users.up.sql", USERS.to_string()), ("m/000002_x.up.sql", body.into())],
            Run::OneQuery,
        ),
        (
            "psql (plain files)",
            vec![("m/0001_users.sql", USERS.into()), ("m/0002_x.sql", body.into())],
            Run::Statements,
        ),
        (
            "goose NO TRANSACTION",
            vec![
                ("m/00001_users.sql", format!("-- +goose Up\n{USERS}")),
                ("m/00002_x.sql", format!("-- +goose NO TRANSACTION\n-- +goose Up\n{body}")),
            ],
            Run::Statements,
        ),
        (
            "goose",
            vec![
                ("m/00001_users.sql", format!("-- +goose Up\n{USERS}")),
                ("m/00002_x.sql", format!("-- +goose Up\n{body}")),
            ],
            Run::Transaction,
        ),
        (
            "dbmate",
            vec![
                ("m/20240101000000_users.sql", format!("-- migrate:up\n{USERS}")),
                ("m/20240102000000_x.sql", format!("-- migrate:up\n{body}")),
            ],
            Run::Transaction,
        ),
    ];
    let mut failures = Vec::new();
    for (name, files, run) in cases {
        let case = Case { name: name.to_string(), files, run };
        let reset = server.sql(&format!("DROP TABLE IF EXISTS users CASCADE;\n{USERS}"));
        assert!(reset.ok, "{name}: reset: {}", reset.stderr);
        let text = case.checked().1.to_string();
        // The tool runs the file, then the session goes on: the probe is the next query.
        let out = match run {
            Run::Transaction => server.sql(&format!("BEGIN;\n{text}\nCOMMIT;\n{probe};\n")),
            Run::Statements => server.sql(&format!("{text}\n{probe};\n")),
            Run::OneQuery => {
                let mut c = server.psql_cmd("migrade_tools");
                c.arg("-c").arg(&text).arg("-c").arg(probe);
                pg::server::SqlOut::from_output(c.output().unwrap())
            }
        };
        assert!(out.ok, "{name}: {}", out.stderr);
        let open = out.stdout.lines().any(|l| l.trim() == "1");

        let d = tempfile::tempdir().unwrap();
        let owned: Vec<(&str, &str)> = case.files.iter().map(|(p, t)| (*p, t.as_str())).collect();
        write_files(d.path(), &owned);
        let lint = Command::new(BIN)
            .args(["lint", "--no-config", "--format", "json", "m"])
            .current_dir(d.path())
            .output()
            .unwrap();
        let v: Value = serde_json::from_slice(&lint.stdout).unwrap();
        let last = case.checked().0;
        let f = v["files"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["path"] == last)
            .unwrap_or_else(|| panic!("{last}: {v:#}"));
        let claimed = f["findings"].as_array().unwrap().iter().any(|x| x["rule"] == "begin-without-commit");
        println!("tools_pg: {name:<22} transaction still open after the file: {open}; migrade says so: {claimed}");
        if open != claimed {
            failures.push(format!("{name}: server open={open}, migrade begin-without-commit={claimed}"));
        }
    }
    assert!(failures.is_empty(), "begin-without-commit differs from PostgreSQL:\n{}", failures.join("\n"));
}
