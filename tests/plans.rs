//! Expand/contract plans, recipe by recipe: `migrade lint --format json` on a
//! small migration (with the schema of an earlier `0001_create.sql`), then the
//! stages present and their order, the real names, the locks, `lock_timeout`
//! before strong locks, irreversible steps marked, and every step's SQL split by
//! migrade's splitter and parsed by its parser. Also `migrade plan --split`.
//!
//! Run: `cargo test --test plans`

use migrade::model::Stage;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_migrade");

fn fixture(p: &str) -> String {
    format!("{}/fixtures/plans/{p}", env!("CARGO_MANIFEST_DIR"))
}

fn run(args: &[&str]) -> Output {
    Command::new(BIN).args(args).env("NO_COLOR", "1").output().expect("run migrade")
}

#[derive(Debug, Clone)]
struct Step {
    stage: Stage,
    title: String,
    sql: String,
    lock: Option<String>,
    irreversible: bool,
    no_transaction: bool,
}

fn stage_of(s: &str) -> Stage {
    match s {
        "expand" => Stage::Expand,
        "deploy" => Stage::Deploy,
        "backfill" => Stage::Backfill,
        "contract" => Stage::Contract,
        _ => panic!("unknown stage {s}"),
    }
}

/// The plan of `dir/<file>` from `migrade lint dir --format json`.
fn plan(dir: &str, file: &str, extra: &[&str]) -> Vec<Step> {
    let d = fixture(dir);
    let mut args = vec!["lint", "--format", "json", "--no-config"];
    args.extend_from_slice(extra);
    args.push(&d);
    let out = run(&args);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("not JSON ({e}): {}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
    });
    let f = v["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"].as_str().unwrap().ends_with(file))
        .unwrap_or_else(|| panic!("no report for {file}"));
    let steps: Vec<Step> = f["plan"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| Step {
            stage: stage_of(p["stage"].as_str().unwrap()),
            title: p["title"].as_str().unwrap().to_string(),
            sql: p["sql"].as_str().unwrap().to_string(),
            lock: p["lock"].as_str().map(str::to_string),
            irreversible: p["irreversible"].as_bool().unwrap(),
            no_transaction: p["no_transaction"].as_bool().unwrap(),
        })
        .collect();
    assert!(!steps.is_empty(), "{dir}/{file}: no plan");
    check_steps(&format!("{dir}/{file}"), &steps);
    steps
}

/// The distinct stages in plan order.
fn stages(steps: &[Step]) -> Vec<Stage> {
    let mut v: Vec<Stage> = Vec::new();
    for s in steps {
        if v.last() != Some(&s.stage) {
            v.push(s.stage);
        }
    }
    v
}

/// SQL without `--` comment lines and psql meta-command lines (`\gexec`).
fn code_lines(sql: &str) -> String {
    sql.lines()
        .filter(|l| !l.trim_start().starts_with("--") && !l.trim_start().starts_with('\\'))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Checks every step: runnable SQL that splits and parses, no placeholders,
/// lock_timeout before strong locks, irreversible steps in the contract stage.
fn check_steps(ctx: &str, steps: &[Step]) {
    let st = stages(steps);
    let mut sorted = st.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(st, sorted, "{ctx}: stages out of order or split up: {st:?}");
    let placeholder = regex::Regex::new(r"<[A-Za-z][A-Za-z _-]*>").unwrap();
    for s in steps {
        assert!(!s.title.is_empty(), "{ctx}: step without a title");
        if s.sql.is_empty() {
            // An instruction: it must not claim a lock or a transaction mode.
            assert!(!s.no_transaction && !s.irreversible, "{ctx}: instruction with flags: {}", s.title);
            continue;
        }
        let code = code_lines(&s.sql);
        assert!(!placeholder.is_match(&code), "{ctx}: placeholder in runnable SQL of `{}`:\n{}", s.title, s.sql);
        assert!(!code.contains("..."), "{ctx}: `...` in runnable SQL of `{}`:\n{}", s.title, s.sql);
        let sp = migrade::split::split(&code);
        assert!(!sp.statements.is_empty(), "{ctx}: `{}` has SQL but no statement", s.title);
        for raw in &sp.statements {
            assert!(raw.unterminated.is_none(), "{ctx}: unterminated SQL in `{}`:\n{}", s.title, s.sql);
            let text = &code[raw.start..raw.body_end];
            if let Err(e) = migrade::parse::parse_statement(text, 0) {
                panic!("{ctx}: `{}` does not parse: {}\n{text}", s.title, e.message);
            }
        }
        let lock = s.lock.as_deref().unwrap_or("");
        if lock.starts_with("ACCESS EXCLUSIVE") || lock.starts_with("SHARE ROW EXCLUSIVE") {
            assert!(s.sql.contains("lock_timeout"), "{ctx}: `{}` takes {lock} without lock_timeout", s.title);
        }
        if s.irreversible {
            assert_eq!(s.stage, Stage::Contract, "{ctx}: irreversible step outside the contract stage");
        }
        if s.no_transaction {
            let tx = sp
                .statements
                .iter()
                .any(|r| matches!(code[r.start..r.body_end].trim().to_ascii_uppercase().as_str(), "BEGIN" | "COMMIT"));
            assert!(!tx, "{ctx}: a no-transaction step opens its own transaction: {}", s.sql);
        }
    }
}

/// Index of the first step whose SQL contains `needle`.
fn pos(steps: &[Step], needle: &str) -> usize {
    steps.iter().position(|s| s.sql.contains(needle)).unwrap_or_else(|| {
        panic!("no step with `{needle}`:\n{}", steps.iter().map(|s| s.sql.as_str()).collect::<Vec<_>>().join("\n---\n"))
    })
}

fn step<'a>(steps: &'a [Step], needle: &str) -> &'a Step {
    &steps[pos(steps, needle)]
}

/// Asserts the needles appear in this order across the plan's SQL.
fn in_order(steps: &[Step], needles: &[&str]) {
    let idx: Vec<usize> = needles.iter().map(|n| pos(steps, n)).collect();
    for w in idx.windows(2).zip(needles.windows(2)) {
        assert!(w.0[0] <= w.0[1], "`{}` should come before `{}`", w.1[0], w.1[1]);
    }
}

fn is_batch_loop(s: &Step, table: &str, pk: &str) {
    assert!(s.no_transaction, "batched loop must run outside a transaction");
    assert_eq!(s.stage, Stage::Backfill);
    for needle in [
        "DO $batch$".to_string(),
        "batch_lo record;".to_string(),
        format!("{table}.{pk} >= batch_lo.{pk}"),
        "COMMIT;".to_string(),
        "pg_sleep(".to_string(),
        format!("ORDER BY {pk} LIMIT 1000"),
    ] {
        assert!(s.sql.contains(&needle), "batch loop without `{needle}`:\n{}", s.sql);
    }
}

#[test]
fn change_column_type_int_to_bigint() {
    let p = plan("change_column_type", "0002_amount_bigint.sql", &[]);
    assert_eq!(stages(&p), [Stage::Expand, Stage::Deploy, Stage::Backfill, Stage::Contract]);
    in_order(
        &p,
        &[
            "ALTER TABLE orders ADD COLUMN amount_new bigint;",
            "CREATE TRIGGER orders_amount_new_sync BEFORE INSERT OR UPDATE OF amount ON orders",
            "UPDATE orders SET amount_new = amount",
            "CREATE INDEX CONCURRENTLY orders_amount_customer_idx_new ON orders USING btree (amount_new, customer_id);",
            "CREATE UNIQUE INDEX CONCURRENTLY orders_amount_key_new ON orders (amount_new);",
            "indisvalid",
            "ADD CONSTRAINT orders_amount_new_nn_check CHECK (amount_new IS NOT NULL) NOT VALID;",
            "VALIDATE CONSTRAINT orders_amount_new_nn_check;",
            "ALTER COLUMN amount_new SET NOT NULL;",
            "ALTER TABLE orders DROP COLUMN amount;",
        ],
    );
    assert!(step(&p, "NEW.amount_new := NEW.amount;").sql.contains("EXECUTE FUNCTION"));
    is_batch_loop(step(&p, "UPDATE orders SET amount_new = amount"), "orders", "id");
    assert!(step(&p, "CREATE UNIQUE INDEX CONCURRENTLY").no_transaction);
    let swap = step(&p, "ALTER TABLE orders DROP COLUMN amount;");
    assert!(swap.irreversible && swap.stage == Stage::Contract);
    for needle in [
        "SET LOCAL lock_timeout",
        "DROP TRIGGER orders_amount_new_sync ON orders;",
        "ALTER TABLE orders RENAME COLUMN amount_new TO amount;",
        "ALTER INDEX orders_amount_customer_idx_new RENAME TO orders_amount_customer_idx;",
        "ALTER TABLE orders ADD CONSTRAINT orders_amount_key UNIQUE USING INDEX orders_amount_key_new;",
        "DROP FUNCTION orders_amount_new_sync();",
    ] {
        assert!(swap.sql.contains(needle), "swap without `{needle}`:\n{}", swap.sql);
    }
    // The lock of every step is named.
    assert!(p.iter().filter(|s| !s.sql.is_empty()).all(|s| s.lock.is_some() || s.sql.contains("indisvalid")));
}

#[test]
fn change_column_type_follows_the_pg_version() {
    // PostgreSQL 11: no CHECK trick (SET NOT NULL scans anyway), EXECUTE FUNCTION exists.
    let p = plan("change_column_type", "0002_amount_bigint.sql", &["--pg-version", "11"]);
    assert!(!p.iter().any(|s| s.sql.contains("NOT VALID")), "no CHECK trick before 12");
    let nn = step(&p, "ALTER COLUMN amount_new SET NOT NULL;");
    assert!(nn.lock.as_deref().unwrap().contains("full scan"), "{:?}", nn.lock);
    assert!(nn.title.contains("before PostgreSQL 12"));
    // PostgreSQL 10: EXECUTE PROCEDURE, and DO cannot COMMIT: a psql \gexec script instead.
    let p = plan("change_column_type", "0002_amount_bigint.sql", &["--pg-version", "10"]);
    assert!(step(&p, "CREATE TRIGGER").sql.contains("EXECUTE PROCEDURE"));
    let b = step(&p, "UPDATE orders SET amount_new = amount");
    assert!(b.sql.contains("\\gexec") && !b.sql.contains("DO $batch$"), "{}", b.sql);
}

#[test]
fn change_column_type_with_using() {
    let p = plan("change_column_type_using", "0002_ref_integer.sql", &[]);
    assert_eq!(stages(&p), [Stage::Expand, Stage::Deploy, Stage::Backfill, Stage::Contract]);
    assert!(step(&p, "CREATE TRIGGER").sql.contains("NEW.ref_new := (SELECT ref::int FROM (SELECT NEW.*) AS orders);"));
    assert!(step(&p, "UPDATE orders SET ref_new = (ref::int)").no_transaction);
    // ref was nullable and unindexed: no NOT NULL steps, no index copies.
    assert!(!p.iter().any(|s| s.sql.contains("NOT VALID") || s.sql.contains("CONCURRENTLY")));
    assert!(step(&p, "RENAME COLUMN ref_new TO ref;").irreversible);
}

#[test]
fn rename_column_with_a_synced_copy() {
    let p = plan("rename_column", "0002_rename_email.sql", &[]);
    assert_eq!(stages(&p), [Stage::Expand, Stage::Backfill, Stage::Contract]);
    // The in-place rename is offered as an instruction only.
    let alt = p.iter().find(|s| s.title.starts_with("alternative")).expect("alternative");
    assert!(alt.sql.is_empty() && alt.title.contains("RENAME COLUMN email TO email_address"));
    in_order(
        &p,
        &[
            "ALTER TABLE orders ADD COLUMN email_address text;",
            "BEFORE INSERT OR UPDATE OF email, email_address ON orders",
            "UPDATE orders SET email_address = email",
            "CREATE UNIQUE INDEX CONCURRENTLY orders_email_key_new ON orders (email_address);",
            "CHECK (email_address IS NOT NULL) NOT VALID",
            "VALIDATE CONSTRAINT orders_email_address_nn_check",
            "ALTER COLUMN email_address SET NOT NULL",
            "ALTER TABLE orders DROP COLUMN email;",
        ],
    );
    let sync = step(&p, "CREATE TRIGGER");
    assert!(sync.sql.contains("NEW.email_address := NEW.email") && sync.sql.contains("NEW.email := NEW.email_address"));
    let drop = step(&p, "ALTER TABLE orders DROP COLUMN email;");
    assert!(drop.irreversible);
    assert!(drop.sql.contains("ADD CONSTRAINT orders_email_key UNIQUE USING INDEX orders_email_key_new;"));
    // The deploy that switches to the new name comes after the backfill.
    let deploy = p.iter().position(|s| s.title.contains("reads and writes email_address only")).unwrap();
    assert!(deploy > pos(&p, "UPDATE orders SET email_address = email") && deploy < pos(&p, "DROP COLUMN email;"));
}

#[test]
fn change_primary_key_type() {
    let p = plan("change_pk_type", "0002_items_id_bigint.sql", &[]);
    assert_eq!(stages(&p), [Stage::Expand, Stage::Deploy, Stage::Backfill, Stage::Contract]);
    assert!(step(&p, "CREATE UNIQUE INDEX CONCURRENTLY items_pkey_new ON items (id_new);").no_transaction);
    let swap = step(&p, "ALTER TABLE items DROP COLUMN id;");
    assert!(swap.sql.contains("ALTER TABLE items ADD CONSTRAINT items_pkey PRIMARY KEY USING INDEX items_pkey_new;"));
    // The serial's default and sequence go to the copy, the foreign key on the old key
    // is re-added on the new one, in the swap (issue 11).
    assert!(swap.sql.contains("pg_get_serial_sequence('items', 'id')"));
    assert!(swap.sql.contains("ALTER SEQUENCE %s OWNED BY %s.%I"));
    in_order(
        &p,
        &[
            "CHECK (id_new IS NOT NULL) NOT VALID",
            "ALTER TABLE item_tags DROP CONSTRAINT item_tags_item_id_fkey;",
            "ALTER TABLE item_tags VALIDATE CONSTRAINT item_tags_item_id_fkey;",
        ],
    );
    assert!(swap.sql.contains(
        "ALTER TABLE item_tags ADD CONSTRAINT item_tags_item_id_fkey FOREIGN KEY (item_id) REFERENCES items (id) NOT VALID;"
    ));
    assert!(!p.iter().any(|s| s.title.starts_with("item_tags reference items")));
}

#[test]
fn quoted_and_schema_qualified_names_are_kept() {
    let p = plan("qualified_names", "0002_amount_bigint.sql", &[]);
    for needle in [
        "ALTER TABLE app.\"Orders\" ADD COLUMN \"Amount_new\" bigint;",
        "CREATE FUNCTION app.\"Orders_Amount_new_sync\"()",
        "app.\"Orders\".\"OrderId\" >= batch_lo.\"OrderId\"",
        "CREATE INDEX CONCURRENTLY \"Orders_Amount_idx_new\" ON app.\"Orders\" USING btree (\"Amount_new\");",
        "ARRAY['app.\"Orders_Amount_idx_new\"']",
        "ALTER INDEX app.\"Orders_Amount_idx_new\" RENAME TO \"Orders_Amount_idx\";",
        "DROP FUNCTION app.\"Orders_Amount_new_sync\"();",
    ] {
        pos(&p, needle);
    }
}

#[test]
fn rename_column_without_history_reads_the_type_from_the_catalog() {
    let p = plan("rename_column_untyped", "0002_rename_login.sql", &[]);
    let add = step(&p, "format_type(atttypid, atttypmod)");
    assert!(add.sql.contains("ADD COLUMN %I %s") && add.sql.contains("'username'") && add.sql.contains("'login'"));
    assert!(
        p.iter().any(|s| s.sql.is_empty() && s.title.starts_with("earlier migrations do not define accounts.login"))
    );
}

#[test]
fn rename_table_with_a_view() {
    let p = plan("rename_table", "0002_rename_customers.sql", &[]);
    assert_eq!(stages(&p), [Stage::Expand, Stage::Deploy, Stage::Contract]);
    let e = step(&p, "ALTER TABLE customers RENAME TO clients;");
    assert!(e.sql.contains("CREATE VIEW customers AS SELECT * FROM clients;") && e.sql.contains("lock_timeout"));
    assert_eq!(step(&p, "DROP VIEW customers;").stage, Stage::Contract);
}

#[test]
fn add_not_null_column() {
    let p = plan("add_not_null_column", "0002_add_status.sql", &[]);
    assert_eq!(stages(&p), [Stage::Expand, Stage::Deploy, Stage::Backfill, Stage::Contract]);
    in_order(
        &p,
        &[
            "ALTER TABLE orders ADD COLUMN status text;",
            "ADD CONSTRAINT orders_status_nn_check CHECK (status IS NOT NULL) NOT VALID;",
            "WHERE status IS NULL",
            "VALIDATE CONSTRAINT orders_status_nn_check;",
            "ALTER TABLE orders ALTER COLUMN status SET NOT NULL;\nALTER TABLE orders DROP CONSTRAINT orders_status_nn_check;",
        ],
    );
    assert_eq!(
        step(&p, "VALIDATE CONSTRAINT").lock.as_deref(),
        Some("SHARE UPDATE EXCLUSIVE (reads and writes continue)")
    );
    // No value is known for the existing rows: an instruction, not a made-up value.
    assert!(p.iter().any(|s| s.sql.is_empty() && s.title.starts_with("fill those NULLs")));
    // Before PostgreSQL 12: no CHECK trick.
    let p = plan("add_not_null_column", "0002_add_status.sql", &["--pg-version", "11"]);
    assert!(!p.iter().any(|s| s.sql.contains("CHECK")));
    assert!(step(&p, "SET NOT NULL").lock.as_deref().unwrap().contains("full scan"));
}

#[test]
fn set_not_null_on_an_existing_column() {
    let p = plan("set_not_null", "0002_ref_not_null.sql", &[]);
    assert_eq!(stages(&p), [Stage::Deploy, Stage::Backfill, Stage::Contract]);
    assert!(p[0].title.contains("never writes NULL into orders.ref"));
    in_order(
        &p,
        &[
            "ADD CONSTRAINT orders_ref_nn_check CHECK (ref IS NOT NULL) NOT VALID;",
            "SELECT count(*) AS null_rows FROM orders WHERE ref IS NULL;",
            "VALIDATE CONSTRAINT orders_ref_nn_check;",
            "ALTER COLUMN ref SET NOT NULL;",
        ],
    );
    assert_eq!(step(&p, "SET NOT NULL").stage, Stage::Contract);
    let p = plan("set_not_null", "0002_ref_not_null.sql", &["--pg-version", "11"]);
    assert_eq!(stages(&p), [Stage::Deploy, Stage::Backfill, Stage::Contract]);
    assert!(!p.iter().any(|s| s.sql.contains("NOT VALID")));
}

#[test]
fn add_unique_constraint_using_a_concurrent_index() {
    let p = plan("add_unique", "0002_unique_ref.sql", &[]);
    assert_eq!(stages(&p), [Stage::Expand]);
    in_order(
        &p,
        &[
            "CREATE UNIQUE INDEX CONCURRENTLY orders_ref_key ON orders (ref);",
            "ARRAY['orders_ref_key']",
            "ALTER TABLE orders ADD CONSTRAINT orders_ref_key UNIQUE USING INDEX orders_ref_key;",
        ],
    );
    assert!(step(&p, "CREATE UNIQUE INDEX").no_transaction);
    assert!(step(&p, "indisvalid").title.contains("DROP INDEX CONCURRENTLY IF EXISTS orders_ref_key"));
}

#[test]
fn add_primary_key_makes_the_columns_not_null_first() {
    let p = plan("add_primary_key", "0002_audit_log_pk.sql", &[]);
    assert_eq!(stages(&p), [Stage::Expand]);
    in_order(
        &p,
        &[
            "CREATE UNIQUE INDEX CONCURRENTLY audit_log_pkey ON audit_log (entry_id);",
            "CHECK (entry_id IS NOT NULL) NOT VALID",
            "VALIDATE CONSTRAINT audit_log_entry_id_nn_check",
            "ALTER COLUMN entry_id SET NOT NULL",
            "ALTER TABLE audit_log ADD CONSTRAINT audit_log_pkey PRIMARY KEY USING INDEX audit_log_pkey;",
        ],
    );
}

#[test]
fn add_foreign_key_not_valid_then_validate() {
    let p = plan("add_foreign_key", "0002_orders_customer_fk.sql", &[]);
    assert_eq!(stages(&p), [Stage::Expand, Stage::Contract]);
    let add = step(&p, "NOT VALID");
    assert!(add.sql.contains(
        "ALTER TABLE orders ADD CONSTRAINT orders_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES customers (id) NOT VALID;"
    ));
    assert!(add.lock.as_deref().unwrap().contains("both tables"));
    assert!(
        step(&p, "CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_customer_id_idx ON orders (customer_id);")
            .no_transaction
    );
    assert_eq!(step(&p, "ALTER TABLE orders VALIDATE CONSTRAINT orders_customer_id_fkey;").stage, Stage::Contract);
}

#[test]
fn add_check_not_valid_then_validate() {
    let p = plan("add_check", "0002_amount_positive.sql", &[]);
    assert_eq!(stages(&p), [Stage::Expand, Stage::Contract]);
    assert!(
        step(&p, "NOT VALID")
            .sql
            .contains("ALTER TABLE orders ADD CONSTRAINT orders_amount_positive CHECK (amount > 0) NOT VALID;")
    );
    assert!(
        step(&p, "VALIDATE CONSTRAINT orders_amount_positive;").lock.as_deref().unwrap().starts_with("SHARE UPDATE")
    );
}

#[test]
fn create_index_concurrently_with_a_validity_check() {
    let p = plan("create_index", "0002_index_ref.sql", &[]);
    assert_eq!(stages(&p), [Stage::Expand]);
    // Deparsed from the statement's nodes with CONCURRENTLY set (btree spelled out).
    let b = step(&p, "CREATE INDEX CONCURRENTLY orders_ref_idx ON orders USING btree (ref);");
    assert!(b.no_transaction);
    let chk = step(&p, "ARRAY['orders_ref_idx']");
    assert!(!chk.no_transaction && chk.title.contains("DROP INDEX CONCURRENTLY IF EXISTS orders_ref_idx"));
}

#[test]
fn drop_index_concurrently() {
    let p = plan("drop_index", "0002_drop_note_idx.sql", &[]);
    assert_eq!(stages(&p), [Stage::Contract]);
    assert!(step(&p, "DROP INDEX CONCURRENTLY IF EXISTS orders_note_idx;").no_transaction);
    assert!(step(&p, "pg_stat_user_indexes").sql.contains("'orders_note_idx'"));
}

#[test]
fn drop_column_after_a_deploy_and_a_backup() {
    let p = plan("drop_column", "0002_drop_note.sql", &[]);
    assert_eq!(stages(&p), [Stage::Deploy, Stage::Contract]);
    in_order(
        &p,
        &["CREATE TABLE orders_note_backup AS SELECT id, note FROM orders;", "ALTER TABLE orders DROP COLUMN note;"],
    );
    assert!(step(&p, "DROP COLUMN note").irreversible);
}

#[test]
fn drop_table_after_a_deploy_and_a_rename() {
    let p = plan("drop_table", "0002_drop_legacy_events.sql", &[]);
    assert_eq!(stages(&p), [Stage::Deploy, Stage::Contract]);
    in_order(
        &p,
        &["ALTER TABLE legacy_events RENAME TO legacy_events_deprecated;", "DROP TABLE legacy_events_deprecated;"],
    );
    assert!(step(&p, "DROP TABLE").irreversible);
    assert!(p.iter().any(|s| s.sql.is_empty() && s.title.contains("pg_dump --table=legacy_events_deprecated")));
}

#[test]
fn large_update_in_batches() {
    let p = plan("large_update", "0002_fill_notes.sql", &[]);
    assert_eq!(stages(&p), [Stage::Backfill]);
    in_order(&p, &["CREATE TABLE orders_backup_", " AS SELECT * FROM orders WHERE note IS NULL;", "DO $batch$"]);
    let b = step(&p, "DO $batch$");
    is_batch_loop(b, "orders", "id");
    assert!(b.sql.contains("UPDATE orders SET note = 'n/a'") && b.sql.contains("AND (note IS NULL);"), "{}", b.sql);

    let p = plan("update_all", "0002_upper_notes.sql", &[]);
    is_batch_loop(step(&p, "UPDATE orders SET note = upper(note)"), "orders", "id");

    // PostgreSQL 10: a psql script, each batch its own statement.
    let p = plan("large_update", "0002_fill_notes.sql", &["--pg-version", "10"]);
    let b = step(&p, "\\gexec");
    assert!(b.no_transaction && b.sql.contains("''n/a''") && b.sql.contains("pg_sleep"));
}

#[test]
fn large_delete_in_batches() {
    let p = plan("large_delete", "0002_delete_small.sql", &[]);
    assert_eq!(stages(&p), [Stage::Backfill]);
    in_order(
        &p,
        &["CREATE TABLE orders_backup_", " AS SELECT * FROM orders WHERE amount < 100;", "DELETE FROM orders"],
    );
    let b = step(&p, "DELETE FROM orders");
    is_batch_loop(b, "orders", "id");
    assert!(b.sql.contains("AND (amount < 100);"));
}

#[test]
fn schema_and_data_change_split() {
    let p = plan("schema_and_data", "0002_status_and_backfill.sql", &[]);
    assert_eq!(stages(&p), [Stage::Expand, Stage::Backfill]);
    assert!(p.iter().any(|s| s.stage == Stage::Expand && s.sql.is_empty() && s.title.contains("schema change alone")));
    is_batch_loop(step(&p, "UPDATE orders SET status = CASE WHEN amount > 100"), "orders", "id");
}

/// ADD COLUMN with a default, then every row set to a constant (issue 11): the plan
/// adds the column with the constant as its default and then sets the file's default,
/// both catalog-only, in place of the two statements (no batched overwrite after the
/// deploy). tests/plans_pg.rs runs it on PostgreSQL.
#[test]
fn add_column_then_a_constant_is_catalog_only() {
    let p = plan("add_column_then_constant", "0002_plan_legacy.sql", &[]);
    assert_eq!(stages(&p), [Stage::Expand]);
    in_order(&p, &["ADD COLUMN plan text NOT NULL DEFAULT 'legacy'", "ALTER COLUMN plan SET DEFAULT 'free'"]);
    assert!(!p.iter().any(|s| s.sql.contains("UPDATE") || s.sql.contains("DEFAULT 'free';\nUPDATE")), "{p:#?}");
    assert_eq!(p.iter().filter(|s| s.sql.contains("ADD COLUMN")).count(), 1, "{p:#?}");
}

/// SET NOT NULL after the file's own backfill: the NULLs written since are filled
/// with the file's expression, not left to an instruction.
#[test]
fn set_not_null_fills_with_the_files_own_expression() {
    let p = plan("backfill_then_not_null", "0002_note_not_null.sql", &[]);
    let fill = p.iter().find(|s| s.title.contains("since the file's own backfill")).expect("a refill step");
    assert!(
        fill.sql.contains("SET note = COALESCE(note, 'none')") && fill.sql.contains("note IS NULL"),
        "{}",
        fill.sql
    );
    assert!(!p.iter().any(|s| s.title.contains("does not say with what value")), "{p:#?}");
}

/// A plan replaces the whole file: the statements no rule re-plans are in it, as
/// written, in file order (issue 11).
#[test]
fn a_plan_keeps_every_statement_of_its_file() {
    let p = plan("whole_file", "0002_status.sql", &[]);
    in_order(
        &p,
        &[
            "ADD COLUMN status text",
            "CREATE INDEX CONCURRENTLY orders_status_idx",
            "DROP CONSTRAINT orders_amount_key",
            "CREATE UNIQUE INDEX CONCURRENTLY orders_amount_key",
            "ADD CONSTRAINT orders_amount_key UNIQUE USING INDEX",
        ],
    );
    assert_eq!(stages(&p), [Stage::Expand]);
}

/// Every action of a multi-action ALTER TABLE is in the plan: the re-planned
/// one as its recipe, the others as written, each in order (issue 11).
/// A statement inside a DO block whose plan is SQL (issue 11): the block cannot be split,
/// so one instruction names what the statement's plan would do outside it (an ADD COLUMN
/// serial inside a DO block had no plan at all: its SQL steps were dropped).
#[test]
fn a_do_block_statement_planned_with_sql_gets_an_instruction() {
    let p = plan("do_block_serial", "0002_numbers.sql", &[]);
    assert!(p.iter().all(|s| s.sql.is_empty()), "a DO block is not replaced: {p:#?}");
    let s = p
        .iter()
        .find(|s| s.title.contains("inside the DO block (add-column-volatile-default)"))
        .unwrap_or_else(|| panic!("no instruction for the DO block's ADD COLUMN: {p:#?}"));
    assert!(s.title.starts_with("line 8, "), "{}", s.title);
    assert!(s.title.contains("add legacy_events.seq_no with no default and nullable"), "{}", s.title);
    assert!(s.title.contains("create the sequence legacy_events_seq_no_seq"), "{}", s.title);
    assert!(s.title.contains("fill seq_no for the existing rows with its default"), "{}", s.title);
}

#[test]
fn a_plan_keeps_every_action_of_a_multi_action_alter() {
    let p = plan("multi_action", "0002_discount.sql", &[]);
    in_order(
        &p,
        &[
            "ALTER TABLE orders ADD COLUMN discount int",
            "ADD CONSTRAINT orders_discount_check CHECK (discount >= 0) NOT VALID",
            "VALIDATE CONSTRAINT orders_discount_check",
            "ALTER COLUMN note SET DEFAULT ''",
        ],
    );
}

/// Two data changes of one table: each backup table has its own name (issue 11).
#[test]
fn backup_tables_are_unique_within_a_plan() {
    let p = plan("two_updates", "0002_notes.sql", &[]);
    let names: Vec<&str> = p
        .iter()
        .filter_map(|s| s.sql.strip_prefix("CREATE TABLE "))
        .filter_map(|rest| rest.split_whitespace().next())
        .collect();
    assert_eq!(names.len(), 2, "{p:#?}");
    assert_ne!(names[0], names[1]);
    assert!(names.iter().all(|n| n.starts_with("orders_backup_")), "{names:?}");
}

/// UPDATE … FROM with an alias, DELETE … USING with a WITH query: the backup
/// selects exactly their rows (alias, FROM, USING and WITH kept), and the change
/// runs whole (issue 11).
#[test]
fn data_changes_with_from_using_and_with_keep_their_clauses() {
    let p = plan("update_from", "0002_customer_name.sql", &[]);
    in_order(
        &p,
        &[
            "ADD COLUMN customer_name text",
            "SELECT o.ctid FROM orders o, customers c WHERE c.id = o.customer_id",
            "UPDATE orders AS o SET customer_name = c.name FROM customers c",
            "(WITH small AS (SELECT id FROM orders WHERE amount < 50) SELECT o.ctid FROM orders o, small",
            "DELETE FROM orders o USING small WHERE o.id = small.id;",
        ],
    );
}

/// A composite primary key is walked as a row (keyset on `(order_id, seq)`, issue 11); a
/// table with no key at all runs the change as one statement and the plan says so. Never
/// a loop on a guessed `id`.
#[test]
fn composite_keys_are_batched_and_keyless_tables_are_not() {
    let p = plan("no_key", "0002_upper_notes.sql", &[]);
    let s = step(&p, "UPDATE order_events SET note = upper(note)");
    assert!(
        s.sql.contains("(order_events.order_id, order_events.seq) >= (batch_lo.order_id, batch_lo.seq)")
            && s.title.contains("keyed on (order_id, seq)"),
        "{s:#?}"
    );
    assert!(!p.iter().any(|s| s.sql.contains("\"id\"") || s.sql.contains(" id ")), "{p:#?}");
    let p = plan("no_key", "0003_upper_audit.sql", &[]);
    let s = step(&p, "UPDATE audit_log SET note = upper(note) WHERE note <> '';");
    assert!(s.title.contains("no primary key") && !s.sql.contains("batch_lo"), "{s:#?}");
}

/// The Down section of a goose file is never planned with its Up section.
#[test]
fn a_goose_down_section_is_not_in_the_plan() {
    let p = plan("goose_down", "00002_note_index.sql", &[]);
    assert!(p.iter().any(|s| s.sql.contains("CREATE INDEX CONCURRENTLY orders_note_idx")));
    // The Down section's DROP INDEX would get `DROP INDEX CONCURRENTLY IF EXISTS orders_note_idx;`.
    assert!(!p.iter().any(|s| s.sql.starts_with("DROP INDEX") || s.sql.contains("idx_scan")), "{p:#?}");
}

// ---------------------------------------------------------------------------
// migrade plan FILE [--split DIR]
// ---------------------------------------------------------------------------

fn listing(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = walk(dir);
    v.sort();
    v
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut v = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            v.extend(walk(&p));
        } else {
            v.push(p);
        }
    }
    v
}

#[test]
fn plan_prints_the_plan_of_one_file() {
    let out = run(&["plan", "--no-config", &fixture("change_column_type/0002_amount_bigint.sql")]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "stage 1 — expand",
        "deploy",
        "backfill",
        "stage 2 — contract",
        "ALTER TABLE orders ADD COLUMN amount_new bigint;",
        "IRREVERSIBLE: backup required, needs approval",
    ] {
        assert!(text.contains(needle), "no `{needle}` in:\n{text}");
    }
}

/// A schema change with a backfill: one file per stage with SQL, the expand stage
/// included (it held only instructions before the plan kept the file's statements).
#[test]
fn plan_split_writes_the_expand_and_the_backfill_file() {
    let out_dir = tempfile::tempdir().unwrap();
    let split = out_dir.path().join("split");
    let file = fixture("schema_and_data/0002_status_and_backfill.sql");
    let out = run(&["plan", "--no-config", &file, "--split", split.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let names: Vec<String> =
        listing(&split).iter().map(|p| p.file_name().unwrap().to_string_lossy().to_string()).collect();
    assert_eq!(names, ["0002_status_and_backfill_expand.sql", "0003_status_and_backfill_backfill.sql"]);
    let expand = std::fs::read_to_string(split.join(&names[0])).unwrap();
    assert!(expand.contains("ADD COLUMN status"), "{expand}");
}

#[test]
fn plan_split_writes_stage_files_named_like_the_source() {
    // golang-migrate style: 0007_x.up.sql -> 0007_x_expand.up.sql, 0008_x_backfill.up.sql, 0009_x_contract.up.sql
    let src = tempfile::tempdir().unwrap();
    std::fs::copy(fixture("change_column_type/0001_create.sql"), src.path().join("0006_create.up.sql")).unwrap();
    std::fs::write(
        src.path().join("0007_widen_amount.up.sql"),
        "ALTER TABLE orders ALTER COLUMN amount TYPE bigint;\n",
    )
    .unwrap();
    let file = src.path().join("0007_widen_amount.up.sql");
    let before = listing(src.path());
    let out_dir = tempfile::tempdir().unwrap();
    let split = out_dir.path().join("split");
    let out = run(&["plan", "--no-config", file.to_str().unwrap(), "--split", split.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let names: Vec<String> =
        listing(&split).iter().map(|p| p.file_name().unwrap().to_string_lossy().to_string()).collect();
    assert_eq!(
        names,
        ["0007_widen_amount_expand.up.sql", "0008_widen_amount_backfill.up.sql", "0009_widen_amount_contract.up.sql"]
    );
    // Nothing is written next to FILE.
    assert_eq!(listing(src.path()), before);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("deploy"), "the deploy between stages is named: {stdout}");

    let expand = std::fs::read_to_string(split.join(&names[0])).unwrap();
    assert!(expand.contains("ALTER TABLE orders ADD COLUMN amount_new bigint;"));
    // Several steps: each its own transaction, the file outside one.
    assert!(expand.contains("OUTSIDE a transaction block"), "{expand}");
    assert!(expand.contains("BEGIN;\nCREATE FUNCTION orders_amount_new_sync()"), "{expand}");
    let backfill = std::fs::read_to_string(split.join(&names[1])).unwrap();
    assert!(backfill.contains("OUTSIDE a transaction block") && backfill.contains("DO $batch$"));
    let contract = std::fs::read_to_string(split.join(&names[2])).unwrap();
    assert!(contract.contains("ALTER TABLE orders RENAME COLUMN amount_new TO amount;"));
    assert!(contract.contains("IRREVERSIBLE"));
    // One step: the file is that transaction, and the step's own BEGIN/COMMIT are left out.
    assert!(contract.contains("runs as one transaction"), "{contract}");
    assert!(!contract.lines().any(|l| l == "BEGIN;" || l == "COMMIT;"), "{contract}");
    // Every file is SQL that migrade's parser reads.
    for n in &names {
        let text = std::fs::read_to_string(split.join(n)).unwrap();
        let code = code_lines(&text);
        for raw in migrade::split::split(&code).statements {
            migrade::parse::parse_statement(&code[raw.start..raw.body_end], 0)
                .unwrap_or_else(|e| panic!("{n}: {}\n{}", e.message, &code[raw.start..raw.body_end]));
        }
    }

    // A second run refuses to overwrite (exit 2) and leaves the files as they were.
    let snapshot: Vec<String> = names.iter().map(|n| std::fs::read_to_string(split.join(n)).unwrap()).collect();
    std::fs::write(split.join(&names[2]), "-- edited by hand\n").unwrap();
    let again = run(&["plan", "--no-config", file.to_str().unwrap(), "--split", split.to_str().unwrap()]);
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
    assert_eq!(std::fs::read_to_string(split.join(&names[0])).unwrap(), snapshot[0]);
    assert_eq!(std::fs::read_to_string(split.join(&names[2])).unwrap(), "-- edited by hand\n");

    // Without --split nothing is written anywhere.
    let out = run(&["plan", "--no-config", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(listing(src.path()), before);

    // DIR = FILE's folder: allowed, because DIR says so.
    let out = run(&["plan", "--no-config", file.to_str().unwrap(), "--split", src.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    assert!(src.path().join("0007_widen_amount_expand.up.sql").is_file());
}

#[test]
fn split_never_puts_not_valid_and_validate_in_one_transaction() {
    let out_dir = tempfile::tempdir().unwrap();
    let file = fixture("set_not_null/0002_ref_not_null.sql");
    let out = run(&["plan", "--no-config", &file, "--split", out_dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    // The stages present (backfill, contract) take the next versions from the source's.
    assert_eq!(listing(out_dir.path()).len(), 2);
    let backfill = std::fs::read_to_string(out_dir.path().join("0002_ref_not_null_backfill.sql")).unwrap();
    assert!(backfill.contains("NOT VALID") && backfill.contains("VALIDATE CONSTRAINT"));
    assert!(backfill.contains("OUTSIDE a transaction block"), "{backfill}");
    let contract = std::fs::read_to_string(out_dir.path().join("0003_ref_not_null_contract.sql")).unwrap();
    assert!(contract.contains("runs as one transaction") && contract.contains("SET NOT NULL"));
}

#[test]
fn split_file_names_follow_each_convention() {
    let names = |file: &str| -> Vec<String> {
        migrade::plan_cmd::stage_paths(file, &[Stage::Expand, Stage::Backfill, Stage::Contract])
            .into_iter()
            .map(|(_, p)| p.to_string_lossy().to_string())
            .collect()
    };
    assert_eq!(names("db/0007_x.up.sql"), ["0007_x_expand.up.sql", "0008_x_backfill.up.sql", "0009_x_contract.up.sql"]);
    assert_eq!(
        names("/abs/db/00012_add_y.sql"),
        ["00012_add_y_expand.sql", "00013_add_y_backfill.sql", "00014_add_y_contract.sql"]
    );
    assert_eq!(
        names("sql/V7__widen.sql"),
        ["V7_1__widen_expand.sql", "V7_2__widen_backfill.sql", "V7_3__widen_contract.sql"]
    );
    assert_eq!(
        names("migrations/2024-01-01-000000_widen/up.sql"),
        [
            "2024-01-01-000000_widen_expand/up.sql",
            "2024-01-01-000001_widen_backfill/up.sql",
            "2024-01-01-000002_widen_contract/up.sql"
        ]
    );
    assert_eq!(
        names("prisma/migrations/20240101120000_widen/migration.sql"),
        [
            "20240101120000_widen_expand/migration.sql",
            "20240101120001_widen_backfill/migration.sql",
            "20240101120002_widen_contract/migration.sql"
        ]
    );
    assert_eq!(names("deploy/widen.sql"), ["widen_1_expand.sql", "widen_2_backfill.sql", "widen_3_contract.sql"]);
    // Relative to DIR: never an absolute path or FILE's folder.
    assert!(names("/abs/db/0007_x.up.sql").iter().all(|n| !n.starts_with('/') && !n.contains("db")));
}

/// Library recipe for a volatile default: the expression comes from the IR (the
/// column's deparsed DEFAULT).
#[test]
fn add_column_with_a_volatile_default_recipe() {
    let sql = "ALTER TABLE orders ADD COLUMN created_at timestamptz NOT NULL DEFAULT clock_timestamp()";
    let parsed = migrade::parse::parse_statement(sql, 0).unwrap();
    let column = match parsed.op {
        migrade::ir::Op::AlterTable { cmds, .. } => match &cmds[..] {
            [migrade::ir::AlterCmd::AddColumn { column, .. }] => column.clone(),
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    };
    assert_eq!(column.default_sql.as_deref(), Some("clock_timestamp()"));
    let t = migrade::ir::QName::new("orders");
    let raw = migrade::plan::add_column_filled(&migrade::schema::Schema::default(), &t, &column, &"id".into(), &[], 15);
    let steps: Vec<Step> = raw
        .into_iter()
        .map(|p| Step {
            stage: p.stage,
            title: p.title,
            sql: p.sql,
            lock: p.lock,
            irreversible: p.irreversible,
            no_transaction: p.no_transaction,
        })
        .collect();
    check_steps("add_column_with_default", &steps);
    in_order(
        &steps,
        &[
            "ALTER TABLE orders ADD COLUMN created_at timestamptz;",
            "ALTER TABLE orders ALTER COLUMN created_at SET DEFAULT clock_timestamp();",
            "CHECK (created_at IS NOT NULL) NOT VALID",
            "UPDATE orders SET created_at = DEFAULT",
            "VALIDATE CONSTRAINT orders_created_at_nn_check",
            "ALTER COLUMN created_at SET NOT NULL",
        ],
    );
}

/// A foreign key re-created on a column copy references the table and columns under
/// their names at that point of the history (renamed since the key was made).
#[test]
fn a_copied_foreign_key_follows_renames_of_what_it_references() {
    let p = plan("rename_referenced", "0003_rename_customer_id.sql", &[]);
    let fk = step(&p, "ADD CONSTRAINT orders_customer_id_fkey_new FOREIGN KEY (client_id)");
    assert!(fk.sql.contains("REFERENCES clients (client_no) ON DELETE CASCADE NOT VALID;"), "{}", fk.sql);
    assert!(
        step(&p, "DROP COLUMN customer_id;")
            .sql
            .contains("ALTER TABLE orders RENAME CONSTRAINT orders_customer_id_fkey_new TO orders_customer_id_fkey;")
    );
}

/// A copy's name stays distinct from the original's within PostgreSQL's 63 bytes (a
/// 63-byte foreign key name plus `_new` would truncate back to the original).
#[test]
fn copy_names_fit_in_63_bytes_and_differ_from_the_original() {
    let long = "selfservice_login_request_methods_selfservice_login_request_id_";
    assert_eq!(long.len(), 63);
    let copy = migrade::plan::copy_name(long);
    assert!(copy.len() <= 63 && copy.ends_with("_new") && copy[..59] == long[..59], "{copy}");
    assert_eq!(migrade::plan::copy_name("orders_pkey"), "orders_pkey_new");
    assert_eq!(migrade::plan::copy_name(&"é".repeat(40)).len(), 62, "cut on a character boundary");
}

/// Default constraint and index names as PostgreSQL chooses them (makeObjectName):
/// a name over 63 bytes shortens the longer part first, not the end.
#[test]
fn default_names_are_cut_the_way_postgresql_cuts_them() {
    use migrade::ir::object_name;
    // Seen on PostgreSQL 15 (kratos' corpus folder: the file's own foreign key).
    assert_eq!(
        object_name("selfservice_login_request_methods", Some("selfservice_login_request_id"), "fkey"),
        "selfservice_login_request_met_selfservice_login_request_id_fkey"
    );
    assert_eq!(
        object_name("selfservice_registration_request_methods", Some("selfservice_registration_request_id"), "fkey"),
        "selfservice_registration_requ_selfservice_registration_req_fkey"
    );
    assert_eq!(object_name("orders", Some("customer_id"), "fkey"), "orders_customer_id_fkey");
    assert_eq!(object_name("orders", None, "pkey"), "orders_pkey");
}

/// DROP COLUMN x, ADD COLUMN x with a quoted name: the added column is the copy
/// ("externalId_new"), not the file's action again (which failed: "already exists").
#[test]
fn a_replaced_quoted_column_is_added_once() {
    let p = plan("replace_quoted_column", "0002_external_id_integer.sql", &[]);
    assert!(!p.iter().any(|s| s.title.contains("other actions")), "{p:#?}");
    let add = step(&p, "ADD COLUMN \"externalId_new\" integer;");
    assert_eq!(add.stage, Stage::Expand);
    assert!(step(&p, "RENAME COLUMN \"externalId_new\" TO \"externalId\"").irreversible);
}

/// A DO block runs as one piece: the plans of the statements inside it advise, they do
/// not replace the block (its ADD COLUMN and UPDATE share one body).
#[test]
fn a_do_block_is_not_split_by_the_plans_of_its_statements() {
    let d = tempfile::tempdir().unwrap();
    let m = d.path().join("m");
    std::fs::create_dir_all(&m).unwrap();
    std::fs::write(m.join("0001_create.sql"), "CREATE TABLE t (id bigint PRIMARY KEY, a text);\n").unwrap();
    std::fs::write(
        m.join("0002_do.sql"),
        "DO $$\nBEGIN\n  ALTER TABLE t ADD COLUMN code text;\n  UPDATE t SET code = upper(a);\nEND\n$$;\n",
    )
    .unwrap();
    let out = run(&["lint", "--format", "json", "--no-config", m.to_str().unwrap()]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let f =
        v["files"].as_array().unwrap().iter().find(|f| f["path"].as_str().unwrap().ends_with("0002_do.sql")).unwrap();
    let plan = f["plan"].as_array().unwrap();
    assert!(plan.iter().all(|p| p["sql"].as_str().unwrap().is_empty()), "{plan:#?}");
}

/// A file that repeats a statement gets its steps twice (marquez drops and re-adds the
/// same foreign key twice: deduplicating the second ADD lost the key).
#[test]
fn a_repeated_statement_keeps_its_steps() {
    let d = tempfile::tempdir().unwrap();
    let m = d.path().join("m");
    std::fs::create_dir_all(&m).unwrap();
    std::fs::write(
        m.join("0001_create.sql"),
        "CREATE TABLE jobs (uuid uuid PRIMARY KEY);\nCREATE TABLE runs (id bigint PRIMARY KEY, job uuid CONSTRAINT runs_job_fkey REFERENCES jobs);\n",
    )
    .unwrap();
    let again = "ALTER TABLE runs DROP CONSTRAINT runs_job_fkey,\nADD CONSTRAINT runs_job_fkey FOREIGN KEY (job) REFERENCES jobs (uuid) ON DELETE CASCADE;\n";
    std::fs::write(m.join("0002_cascade.sql"), format!("{again}{again}")).unwrap();
    let out = run(&["lint", "--format", "json", "--no-config", m.to_str().unwrap()]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let f = v["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"].as_str().unwrap().ends_with("0002_cascade.sql"))
        .unwrap();
    let sql: Vec<&str> = f["plan"].as_array().unwrap().iter().map(|p| p["sql"].as_str().unwrap()).collect();
    let adds = sql.iter().filter(|s| s.contains("ADD CONSTRAINT runs_job_fkey")).count();
    let drops = sql.iter().filter(|s| s.contains("DROP CONSTRAINT runs_job_fkey")).count();
    assert_eq!((adds, drops), (2, 2), "{sql:#?}");
}
