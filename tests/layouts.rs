//! Migration tool layouts, end to end through `migrade lint --format json`:
//! one fixture folder per tool under `fixtures/layouts/<layout>/`, checked for the
//! detected layout of every file, the order the tool applies them in, each file's
//! direction, and which statements run inside a transaction (so whether
//! CREATE INDEX CONCURRENTLY is flagged `concurrently-in-transaction`).
//!
//! Run: `cargo test --test layouts`

use serde_json::Value;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_migrade");
const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/layouts");

/// `migrade lint --no-config --format json <args>` from the fixtures folder: (report, exit code).
fn lint(args: &[&str]) -> (Value, i32) {
    lint_in(std::path::Path::new(DIR), args)
}

/// The same from `dir`; the report must have no errors.
fn lint_in(dir: &std::path::Path, args: &[&str]) -> (Value, i32) {
    let out = Command::new(BIN)
        .current_dir(dir)
        .args(["lint", "--no-config", "--format", "json"])
        .args(args)
        .output()
        .expect("run migrade");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    assert!(v["errors"].as_array().unwrap().is_empty(), "errors: {:#}", v["errors"]);
    (v, out.status.code().unwrap_or(-1))
}

fn files(v: &Value) -> &Vec<Value> {
    v["files"].as_array().expect("files")
}

/// File paths in report order, relative to `prefix`.
fn order(v: &Value, prefix: &str) -> Vec<String> {
    files(v)
        .iter()
        .map(|f| f["path"].as_str().unwrap().strip_prefix(prefix).unwrap_or_else(|| panic!("{f}")).to_string())
        .collect()
}

fn file<'a>(v: &'a Value, suffix: &str) -> &'a Value {
    files(v)
        .iter()
        .find(|f| f["path"].as_str().unwrap().ends_with(suffix))
        .unwrap_or_else(|| panic!("no file {suffix} in {:?}", order(v, "")))
}

fn rules(f: &Value) -> Vec<&str> {
    f["findings"].as_array().unwrap().iter().map(|x| x["rule"].as_str().unwrap()).collect()
}

/// `in_transaction` of each statement.
fn tx(f: &Value) -> Vec<bool> {
    f["statements"].as_array().unwrap().iter().map(|s| s["in_transaction"].as_bool().unwrap()).collect()
}

/// `section` of each statement ("-" when absent).
fn sections(f: &Value) -> Vec<String> {
    f["statements"].as_array().unwrap().iter().map(|s| s["section"].as_str().unwrap_or("-").to_string()).collect()
}

/// Every file has `layout`, and (up, down, ...) directions as listed.
fn check_layout_and_directions(v: &Value, layout: &str, expected: &[(&str, &str)]) {
    for f in files(v) {
        assert_eq!(f["layout"], layout, "{}", f["path"]);
    }
    for (suffix, dir) in expected {
        assert_eq!(file(v, suffix)["direction"], *dir, "{suffix}");
    }
}

fn concurrently_flagged(f: &Value) -> bool {
    rules(f).contains(&"concurrently-in-transaction")
}

#[test]
fn golang_migrate() {
    let (v, code) = lint(&["golang-migrate"]);
    assert_eq!(
        order(&v, "golang-migrate/"),
        [
            "1_create_users.up.sql",
            "1_create_users.down.sql",
            "2_index_users_email.up.sql",
            "2_index_users_email.down.sql",
            "3_index_users_name.up.sql",
            "3_index_users_name.down.sql",
            "4_drop_users_legacy_id.up.sql",
        ]
    );
    check_layout_and_directions(
        &v,
        "golang-migrate",
        &[
            ("1_create_users.up.sql", "up"),
            ("1_create_users.down.sql", "down"),
            ("3_index_users_name.down.sql", "down"),
        ],
    );
    // A single statement is sent alone: no transaction, CONCURRENTLY works.
    let single = file(&v, "2_index_users_email.up.sql");
    assert_eq!(tx(single), [false]);
    assert!(!concurrently_flagged(single), "{single:#}");
    // Several statements are one multi-statement query: an implicit transaction.
    let multi = file(&v, "3_index_users_name.up.sql");
    assert_eq!(tx(multi), [true, true]);
    assert!(concurrently_flagged(multi), "{multi:#}");
    assert_eq!(multi["grade"], "high");
    // A risky up migration with no .down.sql; the ones with downs are not flagged.
    let no_down = file(&v, "4_drop_users_legacy_id.up.sql");
    assert!(rules(no_down).contains(&"missing-down-migration"), "{no_down:#}");
    for f in files(&v).iter().filter(|f| !f["path"].as_str().unwrap().starts_with("golang-migrate/4_")) {
        assert!(!rules(f).contains(&"missing-down-migration"), "{}", f["path"]);
    }
    // Down files are graded too, but do not change the history later ups see:
    // 2_ still knows `users` although 1_create_users.down.sql drops it.
    assert!(rules(file(&v, "1_create_users.down.sql")).contains(&"drop-table"));
    assert_eq!(code, 1, "high and very-high files fail the default --fail-on high");
}

#[test]
fn up_down_suffix() {
    let (v, _) = lint(&["up-down-suffix"]);
    assert_eq!(
        order(&v, "up-down-suffix/"),
        [
            "01_create_accounts_up.sql",
            "01_create_accounts_down.sql",
            "02_add_accounts_currency_up.sql",
            "02_add_accounts_currency_down.sql",
            "10_rename_accounts_owner_up.sql",
            "10_rename_accounts_owner_down.sql",
        ]
    );
    check_layout_and_directions(
        &v,
        "up-down-suffix",
        &[
            ("01_create_accounts_up.sql", "up"),
            ("01_create_accounts_down.sql", "down"),
            ("10_rename_accounts_owner_down.sql", "down"),
        ],
    );
    // Run as plain scripts (each statement on its own).
    assert!(files(&v).iter().all(|f| tx(f).iter().all(|t| !t)));
    assert!(files(&v).iter().all(|f| !rules(f).contains(&"missing-down-migration")), "every up has its down");
}

#[test]
fn diesel() {
    let (v, _) = lint(&["diesel"]);
    let p = "diesel/migrations/";
    assert_eq!(
        order(&v, p),
        [
            "00000000000000_diesel_initial_setup/up.sql",
            "00000000000000_diesel_initial_setup/down.sql",
            "2024-03-01-101500_create_posts/up.sql",
            "2024-03-01-101500_create_posts/down.sql",
            "2024-03-08-093000_index_posts_title/up.sql",
            "2024-03-08-093000_index_posts_title/down.sql",
            "2024-03-15-140000_index_posts_published/up.sql",
            "2024-03-15-140000_index_posts_published/down.sql",
        ]
    );
    check_layout_and_directions(
        &v,
        "diesel",
        &[("create_posts/up.sql", "up"), ("create_posts/down.sql", "down"), ("index_posts_title/down.sql", "down")],
    );
    // Diesel wraps every file in a transaction ...
    assert_eq!(tx(file(&v, "create_posts/up.sql")), [true]);
    let wrapped = file(&v, "index_posts_published/up.sql");
    assert_eq!(tx(wrapped), [true]);
    assert!(concurrently_flagged(wrapped), "{wrapped:#}");
    // ... unless metadata.toml says run_in_transaction = false (up and down alike).
    for f in ["index_posts_title/up.sql", "index_posts_title/down.sql"] {
        let f = file(&v, f);
        assert_eq!(tx(f), [false], "{}", f["path"]);
        assert!(!concurrently_flagged(f), "{f:#}");
    }
}

#[test]
fn flyway() {
    let (v, _) = lint(&["flyway"]);
    assert_eq!(
        order(&v, "flyway/src/main/resources/db/migration/"),
        [
            "V1__create_customers.sql",
            "V1_1__add_customers_phone.sql",
            "U1_1__add_customers_phone.sql",
            "V2__index_customers_email.sql",
            "R__customer_emails_view.sql",
        ],
        "versions compared numerically, the undo beside its version, repeatable last"
    );
    check_layout_and_directions(
        &v,
        "flyway",
        &[
            ("V1__create_customers.sql", "up"),
            ("V1_1__add_customers_phone.sql", "up"),
            ("U1_1__add_customers_phone.sql", "down"),
            ("R__customer_emails_view.sql", "repeatable"),
        ],
    );
    // Flyway wraps a file unless all its statements are non-transactional.
    assert_eq!(tx(file(&v, "V1_1__add_customers_phone.sql")), [true]);
    let alone = file(&v, "V2__index_customers_email.sql");
    assert_eq!(tx(alone), [false]);
    assert!(!concurrently_flagged(alone), "{alone:#}");
    // The undo file is graded like any other (it loses data).
    assert!(rules(file(&v, "U1_1__add_customers_phone.sql")).contains(&"drop-column"));
}

#[test]
fn dbmate_sections_are_graded_as_their_own_direction() {
    let (v, _) = lint(&["dbmate"]);
    let p = "dbmate/db/migrations/";
    assert_eq!(
        order(&v, p),
        [
            "20240110120000_create_orders.sql",
            "20240112090000_index_orders_customer.sql",
            "20240120153000_drop_orders_note.sql"
        ]
    );
    check_layout_and_directions(&v, "dbmate", &[("create_orders.sql", "up"), ("drop_orders_note.sql", "up")]);
    // Each file's statements carry their section.
    let create = file(&v, "create_orders.sql");
    assert_eq!(sections(create), ["up", "down"]);
    assert_eq!(tx(create), [true, true]);
    // `-- migrate:up transaction:false` runs the up section outside a transaction;
    // the down section has no such option, so dbmate wraps it and CONCURRENTLY fails there.
    let idx = file(&v, "index_orders_customer.sql");
    assert_eq!(sections(idx), ["up", "down"]);
    assert_eq!(tx(idx), [false, true]);
    let flagged: Vec<u64> = idx["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["rule"] == "concurrently-in-transaction")
        .map(|x| x["statement"].as_u64().unwrap())
        .collect();
    assert_eq!(flagged, [1], "only the down section's DROP INDEX CONCURRENTLY: {idx:#}");
    let flagged_line = idx["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["rule"] == "concurrently-in-transaction")
        .unwrap()["line"]
        .clone();
    assert_eq!(flagged_line, 6, "points at the down section's statement");
    // The down section's DROP TABLE is found in the down section; the up section's
    // history is not changed by it (the next files still see `orders`).
    let drop = file(&v, "drop_orders_note.sql");
    assert_eq!(sections(drop), ["up", "down"]);
    assert!(rules(drop).contains(&"drop-column"), "{drop:#}");
    let drop_col = drop["findings"].as_array().unwrap().iter().find(|x| x["rule"] == "drop-column").unwrap();
    assert_eq!(drop_col["statement"], 0, "in the up section");
    assert!(rules(create).contains(&"drop-table"), "down section graded: {create:#}");
    let drop_table = create["findings"].as_array().unwrap().iter().find(|x| x["rule"] == "drop-table").unwrap();
    assert_eq!(drop_table["statement"], 1, "in the down section");
}

#[test]
fn goose_sections_no_transaction_and_statement_blocks() {
    let (v, _) = lint(&["goose"]);
    assert_eq!(
        order(&v, "goose/migrations/"),
        [
            "20240201100000_create_invoices.sql",
            "20240203110000_index_invoices_number.sql",
            "20240205120000_index_invoices_amount.sql",
        ]
    );
    check_layout_and_directions(&v, "goose", &[("create_invoices.sql", "up")]);
    // StatementBegin/End keeps the function (with its inner semicolons) one statement:
    // up = CREATE TABLE, CREATE FUNCTION, CREATE TRIGGER; down = three DROPs.
    let create = file(&v, "create_invoices.sql");
    assert_eq!(sections(create), ["up", "up", "up", "down", "down", "down"]);
    let summaries: Vec<&str> =
        create["statements"].as_array().unwrap().iter().map(|s| s["summary"].as_str().unwrap()).collect();
    assert!(summaries[1].to_ascii_uppercase().starts_with("CREATE FUNCTION"), "{summaries:?}");
    assert_eq!(tx(create), [true; 6], "goose wraps both sections by default");
    // `-- +goose NO TRANSACTION` applies to the whole file, both sections.
    let notx = file(&v, "index_invoices_number.sql");
    assert_eq!(sections(notx), ["up", "down"]);
    assert_eq!(tx(notx), [false, false]);
    assert!(!concurrently_flagged(notx), "{notx:#}");
    let wrapped = file(&v, "index_invoices_amount.sql");
    assert_eq!(tx(wrapped), [true, true]);
    assert!(concurrently_flagged(wrapped), "{wrapped:#}");
    assert_eq!(wrapped["grade"], "high");
}

#[test]
fn sqitch_follows_the_plan_not_the_alphabet() {
    let (v, _) = lint(&["sqitch"]);
    // sqitch.plan: appschema, users, flips (alphabetically flips would come before users).
    assert_eq!(
        order(&v, "sqitch/"),
        [
            "deploy/appschema.sql",
            "verify/appschema.sql",
            "revert/appschema.sql",
            "deploy/users.sql",
            "verify/users.sql",
            "revert/users.sql",
            "deploy/flips.sql",
            "verify/flips.sql",
            "revert/flips.sql",
        ]
    );
    check_layout_and_directions(
        &v,
        "sqitch",
        &[("deploy/users.sql", "up"), ("revert/users.sql", "down"), ("verify/users.sql", "verify")],
    );
    // sqitch runs scripts with psql: the scripts' own BEGIN ... COMMIT is the transaction.
    assert_eq!(tx(file(&v, "deploy/users.sql")), [false, true, true]);
    assert_eq!(tx(file(&v, "verify/users.sql")), [false]);
    // flips references flipr.users: known from deploy/users.sql, so no finding about it.
    assert_eq!(file(&v, "deploy/flips.sql")["grade"], "low");
}

#[test]
fn prisma() {
    let (v, _) = lint(&["prisma"]);
    assert_eq!(
        order(&v, "prisma/prisma/migrations/"),
        [
            "20240501120000_init/migration.sql",
            "20240503093000_add_profile_bio/migration.sql",
            "20240510170000_user_email_unique/migration.sql",
        ]
    );
    check_layout_and_directions(&v, "prisma", &[("20240501120000_init/migration.sql", "up")]);
    // The plain CREATE UNIQUE INDEX on an existing table blocks writes.
    assert!(rules(file(&v, "user_email_unique/migration.sql")).contains(&"create-index-non-concurrently"));
    // The foreign key in init is on tables created in the same file: nothing to flag.
    assert_eq!(file(&v, "20240501120000_init/migration.sql")["grade"], "low");
}

#[test]
fn supabase() {
    let (v, _) = lint(&["supabase"]);
    assert_eq!(
        order(&v, "supabase/supabase/migrations/"),
        [
            "20240601000000_create_profiles.sql",
            "20240602000000_profiles_policies.sql",
            "20240610000000_index_profiles_username.sql",
        ]
    );
    check_layout_and_directions(&v, "supabase", &[("create_profiles.sql", "up")]);
    let idx = file(&v, "index_profiles_username.sql");
    assert_eq!(tx(idx), [true], "the Supabase CLI applies each file in a transaction");
    assert!(concurrently_flagged(idx), "{idx:#}");
}

#[test]
fn supabase_is_detected_from_inside_the_project_too() {
    for (cwd, arg, prefix) in
        [("supabase/supabase", "migrations", "migrations/"), ("supabase/supabase/migrations", ".", "")]
    {
        let out = Command::new(BIN)
            .current_dir(format!("{DIR}/{cwd}"))
            .args(["lint", "--no-config", "--format", "json", arg])
            .output()
            .unwrap();
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(order(&v, prefix).len(), 3, "{v:#}");
        check_layout_and_directions(&v, "supabase", &[]);
        assert!(concurrently_flagged(file(&v, "index_profiles_username.sql")), "from {cwd}");
    }
}

#[test]
fn plain_files_run_statement_by_statement() {
    let (v, _) = lint(&["plain"]);
    assert_eq!(order(&v, "plain/db/"), ["001_create_items.sql", "002_index_items_sku.sql"]);
    check_layout_and_directions(&v, "plain", &[("002_index_items_sku.sql", "up")]);
    let idx = file(&v, "002_index_items_sku.sql");
    assert_eq!(tx(idx), [false, false]);
    assert!(!concurrently_flagged(idx));
}

#[test]
fn every_folder_keeps_its_own_layout_in_one_run() {
    let (v, _) = lint(&["."]);
    let n_sql = walkdir_count(std::path::Path::new(DIR));
    assert_eq!(files(&v).len(), n_sql, "{:?}", order(&v, ""));
    for f in files(&v) {
        let path = f["path"].as_str().unwrap();
        let folder = path.split('/').next().unwrap();
        assert_eq!(f["layout"], folder, "{path}");
    }
}

#[test]
fn layout_flag_overrides_detection() {
    // Plain files run as golang-migrate: the two-statement file becomes one
    // implicit transaction, and CONCURRENTLY in it fails.
    let (v, _) = lint(&["--layout", "golang-migrate", "plain"]);
    check_layout_and_directions(&v, "golang-migrate", &[]);
    let idx = file(&v, "002_index_items_sku.sql");
    assert_eq!(tx(idx), [true, true]);
    assert!(concurrently_flagged(idx), "{idx:#}");
    // And the other way round: golang-migrate files linted as plain scripts.
    let (v, _) = lint(&["--layout", "plain", "golang-migrate"]);
    check_layout_and_directions(&v, "plain", &[("1_create_users.down.sql", "down")]);
    let multi = file(&v, "3_index_users_name.up.sql");
    assert_eq!(tx(multi), [false, false]);
    assert!(!concurrently_flagged(multi));
    assert!(
        files(&v).iter().all(|f| !rules(f).contains(&"missing-down-migration")),
        "plain has no down migrations to miss"
    );
    // Diesel folders linted as Supabase: every file wrapped, metadata.toml not read.
    let (v, _) = lint(&["--layout", "supabase", "diesel"]);
    check_layout_and_directions(&v, "supabase", &[]);
    assert!(concurrently_flagged(file(&v, "index_posts_title/up.sql")));
    // An unknown layout is a usage error.
    let out = Command::new(BIN)
        .current_dir(DIR)
        .args(["lint", "--no-config", "--layout", "rails", "plain"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("golang-migrate"), "lists the layouts");
}

#[test]
fn layout_from_the_config_file() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("db");
    std::fs::create_dir(&db).unwrap();
    std::fs::copy(format!("{DIR}/plain/db/002_index_items_sku.sql"), db.join("002_index_items_sku.sql")).unwrap();
    std::fs::write(tmp.path().join("migrade.toml"), "layout = \"golang-migrate\"\n").unwrap();
    let out = Command::new(BIN).current_dir(tmp.path()).args(["lint", "--format", "json", "db"]).output().unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let f = file(&v, "002_index_items_sku.sql");
    assert_eq!(f["layout"], "golang-migrate");
    assert!(concurrently_flagged(f));
    // The flag beats the file.
    let out = Command::new(BIN)
        .current_dir(tmp.path())
        .args(["lint", "--format", "json", "--layout", "plain", "db"])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(file(&v, "002_index_items_sku.sql")["layout"], "plain");
}

fn walkdir_count(p: &std::path::Path) -> usize {
    std::fs::read_dir(p)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| if p.is_dir() { walkdir_count(&p) } else { usize::from(p.extension().is_some_and(|x| x == "sql")) })
        .sum()
}

#[test]
fn dbmate_sections_are_graded_on_their_own() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_migrade"))
        .args([
            "lint",
            "--no-config",
            "--format",
            "json",
            concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/layouts/dbmate"),
        ])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let f = v["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"].as_str().unwrap().ends_with("_create_orders.sql"))
        .unwrap();
    let sections = f["sections"].as_array().unwrap();
    assert_eq!(sections.len(), 2);
    assert_eq!((sections[0]["direction"].as_str(), sections[0]["grade"].as_str()), (Some("up"), Some("low")));
    assert_eq!((sections[1]["direction"].as_str(), sections[1]["grade"].as_str()), (Some("down"), Some("very-high")));
    assert_eq!(sections[1]["advice"]["backup"], "required");
    assert_eq!(f["grade"], "very-high", "the file's grade is the highest of its sections");
}

/// A folder is reported in the same order whether migrade walks it (streamed,
/// folder by folder) or is given every file by name (collected, then ordered):
/// migration folders come in the order of their first file by path, each in its
/// tool's order, including folders nested in other migration folders.
#[test]
fn walked_and_named_files_report_in_the_same_order() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    let files = [
        "db/aa.sql",
        "db/schema/baseline/deploy/b1.sql",
        "db/schema/deploy/s1.sql",
        "db/schema/deploy/s2.sql",
        "db/zz.sql",
        "m/2020-01-01-000000_x/up.sql",
        "m/2020-01-01-000000_x/down.sql",
        "m/2020-01-02-000000_y/up.sql",
    ];
    for f in files {
        let p = root.join(f);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, "SELECT 1;\n").unwrap();
    }
    let run = |args: &[&str]| -> Vec<String> { order(&lint_in(root, args).0, "") };
    let expected = [
        "db/aa.sql",
        "db/zz.sql",
        "db/schema/baseline/deploy/b1.sql",
        "db/schema/deploy/s1.sql",
        "db/schema/deploy/s2.sql",
        "m/2020-01-01-000000_x/up.sql",
        "m/2020-01-01-000000_x/down.sql",
        "m/2020-01-02-000000_y/up.sql",
    ];
    let walked: Vec<String> = run(&["."]);
    assert_eq!(walked, expected, "walking the folder");
    let walked_sub: Vec<String> = run(&["db"]);
    assert_eq!(walked_sub, expected[..5], "walking a subfolder");
    // Named one by one, in a scrambled order: the same report order.
    let mut named: Vec<&str> = files.to_vec();
    named.reverse();
    named.swap(1, 5);
    assert_eq!(run(&named), expected, "naming every file");
}

/// A named file's folder is read for its history down to the depth where migration
/// files can be (`x.sql`, `<version>/up.sql`, `deploy/x.sql`), not the whole tree
/// below it: a file at the root of a repository must not walk the repository.
#[test]
fn history_folder_walk_stops_at_the_migration_depth() {
    use migrade::discover::{DiscoverOptions, Input, MIGRATION_FOLDER_DEPTH, discover};
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    for f in ["0001_a.sql", "2020_x/up.sql", "deploy/c.sql", "node_modules/pkg/sql/deep.sql"] {
        let p = root.join(f);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, "SELECT 1;\n").unwrap();
    }
    let opts = DiscoverOptions { max_depth: Some(MIGRATION_FOLDER_DEPTH), ..Default::default() };
    let (found, errors) = discover(&[root.to_string_lossy().to_string()], &opts).expect("discover");
    assert!(errors.is_empty(), "{errors:?}");
    let mut rel: Vec<String> = found
        .iter()
        .map(|i| match i {
            Input::File(p) => p.strip_prefix(root).unwrap().to_string_lossy().to_string(),
            Input::Stdin(_) => "-".into(),
        })
        .collect();
    rel.sort();
    assert_eq!(rel, ["0001_a.sql", "2020_x/up.sql", "deploy/c.sql"]);
    // The named file still gets its history from the files beside it.
    assert_eq!(order(&lint_in(root, &["0001_a.sql"]).0, ""), ["0001_a.sql"]);
}
