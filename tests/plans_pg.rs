//! Expand/contract plans applied to a real PostgreSQL server.
//!
//! For each case: migrade lints a fixture folder of `fixtures/plans/`
//! (`0001_create.sql` + the risky migration) and prints its plan as JSON. Then,
//! on a private PostgreSQL cluster (`tests/pg/server.rs`):
//!
//! * schema A gets `0001_create.sql` and 5,000 orders, then the plan, step by
//!   step, through psql: a `no_transaction` step runs as written in autocommit
//!   mode (the `DO` batch loops commit inside); every other step runs in one
//!   `BEGIN … COMMIT` (its own BEGIN/COMMIT dropped) and, before the COMMIT, the
//!   session reads its own `pg_locks` and the `pg_stat_get_xact_tuples_*`
//!   counters of the table: a step that holds ACCESS EXCLUSIVE on the table and
//!   read at least 90% of its rows fails the test (LOCK-FACTS-PG15.md's method);
//! * schema B gets `0001_create.sql` and the original migration (no rows, so a
//!   migration that fails on a table with rows still shows its intended schema);
//! * the final schemas must be equal: columns (name, type, nullability,
//!   default), constraints, index definitions and names, relations, triggers,
//!   functions; and the data of A must be what it was (row count and checksum,
//!   with the renamed column read under its new name).
//!
//! The same plans are also applied as the files `migrade plan FILE --split DIR`
//! writes (schema C), each run as its header says (one transaction, or psql
//! in autocommit mode), and must give the same schema and data.
//!
//! The batched loops of data migrations (UPDATE / DELETE, as `DO` loops with
//! COMMIT and, for `--pg-version 10`, as psql `\gexec` scripts) must leave the
//! same rows as the original statement, also on a text and a uuid primary key.
//!
//! Where a case simulates old and new application code, it writes through the
//! old (and new) column names after the expand stage; the checksum taken then
//! must survive the rest of the plan, which proves the sync triggers.
//!
//! Environment: `MIGRADE_SKIP_PG=1` passes (loudly) when no PostgreSQL is
//! installed; `MIGRADE_PG_BINDIR` picks the server binaries (see real_pg.rs).
//!
//! Run: `cargo test --test plans_pg -- --nocapture`

#[allow(dead_code)]
#[path = "pg/server.rs"]
mod server;

use serde_json::Value;
use server::Server;
use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

const ROWS: i64 = 5000;

const DATA: &str = "\
INSERT INTO customers SELECT g, 'customer ' || g FROM generate_series(1, 100) g;
INSERT INTO orders
SELECT g, 1 + g % 100, g * 10, (g * 7)::text, 'user' || g || '@example.com',
       CASE WHEN g % 3 = 0 THEN NULL ELSE 'note ' || g END
FROM generate_series(1, 5000) g;
INSERT INTO legacy_events SELECT g, 'event ' || g FROM generate_series(1, 1000) g;
ANALYZE;
";

struct Case {
    /// Folder under fixtures/plans.
    dir: &'static str,
    /// The migration whose plan is applied.
    file: &'static str,
    /// The table the plan changes: its name before and after.
    table: &'static str,
    final_table: &'static str,
    /// Row expression for the checksum, before and after (renamed columns differ).
    before_row: &'static str,
    after_row: &'static str,
    /// SQL the test runs at the plan's "fill those NULLs" instruction (the
    /// migration gives no value; the plan says so and leaves it to the user).
    fill: Option<&'static str>,
    /// Writes of running application code, after the expand stage (or before the
    /// first step whose title starts with `app_writes_before`; at the end when no
    /// step comes after the expand stage).
    app_writes: Option<&'static str>,
    app_writes_before: Option<&'static str>,
    /// A query on schema A after the plan and the one line it must print.
    expect: Option<(&'static str, &'static str)>,
    /// The original migration itself holds ACCESS EXCLUSIVE while scanning: a
    /// control that the detector sees it.
    original_flagged: bool,
    /// Also apply the files of `migrade plan FILE --split DIR`, as their headers say.
    split: bool,
}

const ORDERS_ROW: &str = "ROW(id, customer_id, amount, ref, email, note)";

impl Case {
    /// A plan on `orders`, its rows compared whole, split files applied too.
    fn orders(dir: &'static str, file: &'static str) -> Case {
        Case {
            dir,
            file,
            table: "orders",
            final_table: "orders",
            before_row: ORDERS_ROW,
            after_row: ORDERS_ROW,
            fill: None,
            app_writes: None,
            app_writes_before: None,
            expect: None,
            original_flagged: false,
            split: true,
        }
    }
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            app_writes: Some(
                "UPDATE orders SET amount = 4242424 WHERE id = 42;\n\
                 INSERT INTO orders (id, customer_id, amount, ref, email) VALUES (5001, 1, 50010, '35007', 'u5001@example.com');",
            ),
            original_flagged: true,
            ..Case::orders("change_column_type", "0002_amount_bigint.sql")
        },
        Case {
            app_writes: Some("UPDATE orders SET ref = '777' WHERE id = 7;"),
            original_flagged: true,
            ..Case::orders("change_column_type_using", "0002_ref_integer.sql")
        },
        Case {
            after_row: "ROW(id, customer_id, amount, ref, email_address, note)",
            // Old code writes `email`, new code writes `email_address`, side by side.
            app_writes: Some(
                "UPDATE orders SET email = 'changed42@example.com' WHERE id = 42;\n\
                 INSERT INTO orders (id, customer_id, amount, ref, email) VALUES (5001, 1, 50010, '35007', 'old@example.com');\n\
                 INSERT INTO orders (id, customer_id, amount, ref, email_address) VALUES (5002, 2, 50020, '35014', 'new@example.com');\n\
                 UPDATE orders SET email_address = 'renamed43@example.com' WHERE id = 43;",
            ),
            ..Case::orders("rename_column", "0002_rename_email.sql")
        },
        // A column with a DEFAULT and a foreign key (issue 11): the copy gets both, the
        // foreign key under its own name after the swap; old code relies on the default.
        Case {
            after_row: "ROW(id, client_id, amount, ref, email, note)",
            app_writes: Some(
                "INSERT INTO orders (id, amount, ref, email) VALUES (5001, 50010, '35007', 'u5001@example.com');",
            ),
            expect: Some(("SELECT 'E|' || client_id FROM orders WHERE id = 5001;", "1")),
            ..Case::orders("rename_fk_default", "0002_rename_customer.sql")
        },
        // Prisma's enum swap after a data change (issue 11): the backup of the changed
        // rows keeps the enum column as text, so the file's DROP TYPE of the old enum runs.
        Case {
            app_writes: Some("UPDATE orders SET state = 'open' WHERE id = 7;"),
            expect: Some(("SELECT 'E|' || count(*) FILTER (WHERE state = 'open') FROM orders;", "1")),
            ..Case::orders("enum_swap", "0002_drop_legacy_state.sql")
        },
        // DROP COLUMN x, ADD COLUMN x <other type> in one statement (issue 11): the new
        // column beside the old one, swapped in after the deploy (was: both planned on
        // their own, and the ADD failed with "column already exists").
        Case {
            before_row: "ROW(id, customer_id, amount, ref, email)",
            after_row: "ROW(id, customer_id, amount, ref, email)",
            expect: Some(("SELECT 'E|' || count(*) FILTER (WHERE note = '{}') FROM orders;", "5000")),
            ..Case::orders("replace_column", "0002_note_jsonb.sql")
        },
        // DROP TABLE ... CASCADE of a table other tables reference (issue 11): the parked
        // table's final drop keeps the CASCADE (was: it failed on orders' foreign key).
        Case::orders("drop_table_cascade", "0002_drop_customers.sql"),
        // ADD COLUMN ... UNIQUE beside another action (issue 11): the column is added plain,
        // its key built concurrently (was: the inline UNIQUE kept as written, and the
        // concurrent build failed on the index it had made).
        Case::orders("add_column_unique", "0002_external_ref.sql"),
        // DROP TABLE IF EXISTS of a table that is not there: so is the plan's (issue 11).
        Case::orders("drop_table_if_exists", "0002_drop_schema_migrations.sql"),
        // Explicit ids copied into a bigserial column (issue 11): the plan advances the
        // sequence, so the next default id is new (the file's next INSERT would collide).
        Case {
            expect: Some(("SELECT 'E|' || nextval(pg_get_serial_sequence('order_archive', 'id'));", "5001")),
            ..Case::orders("copy_ids", "0002_archive_orders.sql")
        },
        // DROP TABLE t; ALTER TABLE t_new RENAME TO t (issue 11): the old table is renamed
        // away in the swap, not dropped first (was: the file's RENAME ran while the old
        // table still held the name: `relation "customers" already exists`).
        Case {
            expect: Some(("SELECT 'E|' || count(*) FILTER (WHERE tier = 'basic') FROM customers;", "100")),
            ..Case::orders("swap_table", "0002_rebuild_customers.sql")
        },
        Case {
            fill: Some("UPDATE orders SET status = 'legacy' WHERE status IS NULL;"),
            split: false,
            ..Case::orders("add_not_null_column", "0002_add_status.sql")
        },
        Case { original_flagged: true, ..Case::orders("set_not_null", "0002_ref_not_null.sql") },
        // The file fills the column itself, then sets NOT NULL (issue 11): old code
        // still writes NULLs after that backfill, until the deploy; the plan fills them
        // with the file's own expression before VALIDATE (no instruction left to the user).
        Case {
            before_row: "ROW(id, customer_id, amount, ref, email, coalesce(note, 'none'))",
            app_writes: Some(
                "INSERT INTO orders (id, customer_id, amount, ref, email) VALUES (5001, 1, 50010, '35007', 'u5001@example.com');",
            ),
            app_writes_before: Some("deploy code that never writes NULL"),
            expect: Some(("SELECT 'E|' || count(*) FILTER (WHERE note = 'none') FROM orders;", "1667")),
            original_flagged: true,
            ..Case::orders("backfill_then_not_null", "0002_note_not_null.sql")
        },
        // ADD COLUMN ... DEFAULT 'free' then UPDATE ... SET col = 'legacy' (issue 11): the
        // catalog-only form keeps 'legacy' for the existing rows and 'free' for rows
        // written after the deploy (a batched UPDATE after it would overwrite them).
        Case {
            app_writes: Some(
                "INSERT INTO orders (id, customer_id, amount, ref, email) VALUES (5001, 1, 50010, '35007', 'u5001@example.com');",
            ),
            expect: Some((
                "SELECT 'E|' || count(*) FILTER (WHERE plan = 'legacy') || '/' || count(*) FILTER (WHERE plan = 'free') FROM orders;",
                "5000/1",
            )),
            ..Case::orders("add_column_then_constant", "0002_plan_legacy.sql")
        },
        Case::orders("add_unique", "0002_unique_ref.sql"),
        // A DEFERRABLE INITIALLY DEFERRED key with INCLUDE columns (issue 11, found on an
        // unseen folder): the concurrent index keeps the INCLUDE, the attached constraint
        // the deferral (was: both lost, a plain immediate key on ref alone).
        Case::orders("add_unique_deferrable", "0002_unique_ref_deferrable.sql"),
        // Inline UNIQUE DEFERRABLE [INITIALLY DEFERRED] on new columns, and an inline
        // PRIMARY KEY DEFERRABLE INITIALLY DEFERRED (issue 11): the attached keys keep the
        // deferral (was: lost, plain immediate keys).
        Case::orders("add_column_unique_deferrable", "0002_keys_deferrable.sql"),
        // Type changes of columns with deferrable keys, one inline in CREATE TABLE, one a
        // table constraint (issue 11): the swap attaches the key's copy with its deferral
        // (was: lost; the history did not record it).
        Case { original_flagged: true, ..Case::orders("retype_deferrable_key", "0002_retype_keys.sql") },
        // A table rebuilt under its own name (issue 11): the new table is built beside the
        // old one, kept in step by a trigger that applies the file's own query to each
        // write (old code's writes after the expand stage land in it), the rows copied in
        // batches, the names swapped (the file's names for the new table's key, CHECK and
        // sequence), the sequence advanced past the copied ids (the file's copy fills the
        // first columns without a column list) and the old table dropped, as the file
        // does. Was: no plan, only advice.
        Case {
            table: "legacy_events",
            final_table: "legacy_events",
            before_row: "ROW(id, coalesce(payload, ''))",
            after_row: "ROW(id, payload)",
            app_writes: Some(
                "UPDATE legacy_events SET payload = 'changed' WHERE id = 7;\n\
                 INSERT INTO legacy_events (id, payload) VALUES (1001, NULL);\n\
                 DELETE FROM legacy_events WHERE id = 9;",
            ),
            // Every row copied with the default kind; the id sequence past the copied ids.
            expect: Some((
                "SELECT 'E|' || count(*) FILTER (WHERE kind = 'legacy') || '/' || \
                 nextval(pg_get_serial_sequence('legacy_events', 'id')) FROM legacy_events;",
                "1000/1002",
            )),
            ..Case::orders("table_rebuild", "0002_rebuild_legacy_events.sql")
        },
        Case { original_flagged: true, ..Case::orders("add_check", "0002_amount_positive.sql") },
        Case {
            table: "customers",
            final_table: "clients",
            before_row: "ROW(id, name)",
            after_row: "ROW(id, name)",
            // Old code writes through the view left under the old name.
            app_writes: Some(
                "INSERT INTO customers (id, name) VALUES (101, 'through the view');\n\
                 UPDATE customers SET name = 'renamed through the view' WHERE id = 1;",
            ),
            ..Case::orders("rename_table", "0002_rename_customers.sql")
        },
        // Flagged and unflagged statements in one file (issue 11): the plan is the
        // whole file, so the index finds the column and the new key the old one gone.
        // A multi-action ALTER TABLE (issue 11): the actions the plan does not
        // re-plan stay, the added column before the CHECK that needs it.
        Case { original_flagged: true, ..Case::orders("multi_action", "0002_discount.sql") },
        Case { original_flagged: true, ..Case::orders("whole_file", "0002_status.sql") },
        // A type change of a column that indexes read in an expression, a DESC key,
        // INCLUDE and WHERE (issue 11): the copies keep each whole definition (was: the
        // column list only, and no copy of the expression index).
        Case { original_flagged: true, ..Case::orders("retype_indexes", "0002_amount_bigint.sql") },
        // A type change of timestamp columns with defaults (issue 11): the copy of
        // DEFAULT '1970-01-01' keeps its timestamp type, as the file's ALTER TYPE does
        // (was: folded to a timestamptz constant in the session's time zone).
        // (timestamp -> timestamptz does not rewrite when the session time zone is UTC.)
        Case::orders("retype_default", "0002_placed_at_timestamptz.sql"),
        // A serial column's type change (issue 11): the swap hands the column's default
        // and its sequence to the copy (was: DROP COLUMN dropped the sequence, and the
        // column lost its default).
        Case {
            table: "legacy_events",
            final_table: "legacy_events",
            before_row: "ROW(id, payload)",
            after_row: "ROW(id, payload)",
            expect: Some((
                "SELECT 'E|' || pg_get_serial_sequence('legacy_events', 'id')::regclass::text || ' ' || \
                 pg_get_expr(adbin, adrelid) FROM pg_attrdef WHERE adrelid = 'legacy_events'::regclass;",
                "legacy_events_id_seq nextval('legacy_events_id_seq'::regclass)",
            )),
            ..Case::orders("retype_serial", "0002_events_bigint.sql")
        },
        // An identity column's type change (issue 11): the swap makes the copy the identity
        // column, with the kind, the sequence's name and options and its value (was: an
        // instruction only). Old code's insert after the expand stage takes 2000.
        Case {
            table: "legacy_events",
            final_table: "legacy_events",
            before_row: "ROW(id, payload)",
            after_row: "ROW(id, payload)",
            app_writes: Some("INSERT INTO legacy_events (payload) VALUES ('new');"),
            expect: Some((
                "SELECT 'E|' || a.attidentity::text || ' ' || c.relname || ' ' || format_type(s.seqtypid, NULL) || ' ' || \
                 s.seqincrement || ' ' || nextval(c.oid) FROM pg_attribute a, pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid \
                 WHERE a.attrelid = 'legacy_events'::regclass AND a.attname = 'id' \
                 AND s.seqrelid = pg_get_serial_sequence('legacy_events', 'id')::regclass;",
                "d legacy_events_id_seq bigint 5 2005",
            )),
            ..Case::orders("retype_identity", "0002_events_bigint.sql")
        },
        // A type change of a key another table references (issue 11): the swap drops the
        // foreign key and re-adds it on the new key, validated after it (was: an
        // instruction, and DROP COLUMN failed on the dependent foreign key).
        Case {
            table: "customers",
            final_table: "customers",
            before_row: "ROW(id, name)",
            after_row: "ROW(id, name)",
            ..Case::orders("retype_referenced_key", "0002_customers_bigint.sql")
        },
        // A rename of a column a view reads (issue 11, marquez V61): in place, catalog
        // only (was: a synced copy whose swap failed on the view's dependency).
        Case {
            after_row: "ROW(id, customer_id, amount, ref, email_address, note)",
            expect: Some(("SELECT 'E|' || count(*) FROM order_emails WHERE email LIKE '%@example.com';", "5000")),
            ..Case::orders("rename_with_view", "0002_rename_email.sql")
        },
        // A type change of a table with an updated_at trigger (issue 11, ente 25): the
        // copy's backfill does not fire it, as ALTER TYPE does not (was: every row's
        // updated_at stamped with the backfill's time).
        Case {
            before_row: "ROW(id, customer_id, amount, ref, email, note, updated_at)",
            after_row: "ROW(id, customer_id, amount, ref, email, note, updated_at)",
            original_flagged: true,
            ..Case::orders("retype_with_trigger", "0002_amount_bigint.sql")
        },
        // A volatile default added to a table with an updated_at trigger (issue 11): the
        // plan's batched fill does not fire it, as ADD COLUMN does not (was: every row's
        // updated_at stamped with the fill's time). The new column's random values are
        // left out of the checksum.
        Case {
            before_row: "ROW(id, customer_id, amount, ref, email, note, updated_at)",
            after_row: "ROW(id, customer_id, amount, ref, email, note, updated_at)",
            expect: Some(("SELECT 'E|' || count(*) FILTER (WHERE token IS NULL) FROM orders;", "0")),
            ..Case::orders("add_default_with_trigger", "0002_add_token.sql")
        },
        // Inline keys on new columns with a volatile default (issue 11): UNIQUE on orders,
        // PRIMARY KEY on a table without one. The column is added once, with no default,
        // filled in batches, then keyed from an index built concurrently, the primary key
        // once the column is NOT NULL (was: both rules added the column, and the second
        // ADD COLUMN failed: "column already exists"; it also kept the volatile default).
        Case {
            expect: Some((
                "SELECT 'E|' || count(DISTINCT public_id) || '/' || \
                 (SELECT count(DISTINCT event_uid) FROM legacy_events) FROM orders;",
                "5000/1000",
            )),
            ..Case::orders("add_column_filled_key", "0002_public_ids.sql")
        },
        // serial columns added to tables with rows, one with an inline UNIQUE (issue 11):
        // the plan creates the sequence under PostgreSQL's name, of the column's type,
        // owned by the column and its default, fills the rows from it, and keys the column
        // after the fill (was: the default was an instruction, the column nullable, and no
        // sequence made).
        Case {
            expect: Some((
                "SELECT 'E|' || pg_get_serial_sequence('orders', 'seq_no')::regclass::text || ' ' || \
                 nextval(pg_get_serial_sequence('orders', 'seq_no')) || ' ' || \
                 pg_get_serial_sequence('legacy_events', 'line_no')::regclass::text || ' ' || \
                 (SELECT format_type(seqtypid, NULL) FROM pg_sequence \
                  WHERE seqrelid = pg_get_serial_sequence('legacy_events', 'line_no')::regclass) || ' ' || \
                 (SELECT count(DISTINCT line_no) FROM legacy_events);",
                "orders_seq_no_seq 5001 legacy_events_line_no_seq integer 1000",
            )),
            ..Case::orders("add_column_serial", "0002_numbers.sql")
        },
        // Inline CHECKs and a REFERENCES on new columns with a volatile default (issue 11):
        // re-created NOT VALID, then validated, under PostgreSQL's names (was: lost, the
        // plan added the columns with their types only).
        Case {
            expect: Some((
                "SELECT 'E|' || count(*) FILTER (WHERE score IS NULL OR referrer_id IS NULL) FROM orders;",
                "0",
            )),
            ..Case::orders("add_column_filled_checked", "0002_score_referrer.sql")
        },
        // Type changes of a key's column and of a key's INCLUDE column, the keys with
        // INCLUDE and NULLS NOT DISTINCT and no CREATE INDEX of their own (issue 11): the
        // index copies keep both (was: a plain unique index on the key columns; the key on
        // email was not copied at all, and the swap's DROP COLUMN dropped it).
        Case { original_flagged: true, ..Case::orders("retype_key_include", "0002_widen.sql") },
        // Identity columns added to tables with rows, one with an inline UNIQUE (issue 11):
        // filled from a sequence of their own, made NOT NULL the safe way, then the identity
        // columns (ALWAYS / BY DEFAULT, PostgreSQL's sequence names, continuing after the
        // filled values), the key built after the fill (was: the default an instruction, no
        // identity, and with UNIQUE the column added twice).
        Case {
            expect: Some((
                "SELECT 'E|' || string_agg(a.attidentity::text || ' ' || \
                 pg_get_serial_sequence(a.attrelid::regclass::text, a.attname)::regclass::text || ' ' || \
                 nextval(pg_get_serial_sequence(a.attrelid::regclass::text, a.attname)), ', ' ORDER BY a.attname) \
                 FROM pg_attribute a WHERE a.attidentity <> '' AND a.attrelid IN ('orders'::regclass, 'customers'::regclass);",
                "a orders_number_seq 5001, d customers_seq_seq 101",
            )),
            ..Case::orders("add_column_identity", "0002_numbers.sql")
        },
        // Inline keys on new columns with an inline CHECK / REFERENCES and no volatile
        // default (issue 11): the CHECK and the foreign key are added NOT VALID, then
        // validated (was: the CHECK lost, the foreign key inline in the plain ADD COLUMN);
        // an inline key keeps NULLS NOT DISTINCT (was: lost).
        Case::orders("add_column_unique_checked", "0002_code_buyer.sql"),
        // Identity columns with sequence options added to tables with rows (issue 11): filled
        // as the identity would number them, the identity with the file's options and
        // sequence name (was: the defaults, START 1 INCREMENT 1, and PostgreSQL's name).
        Case {
            expect: Some((
                "SELECT 'E|' || string_agg(a.attidentity::text || ' ' || s.seqrelid::regclass::text || ' ' || \
                 s.seqstart || ' ' || s.seqincrement || ' ' || s.seqcache || ' ' || s.seqcycle || ' ' || \
                 (SELECT min(n) || '-' || max(n) FROM (SELECT number AS n FROM orders WHERE a.attname = 'number' \
                 UNION ALL SELECT seq FROM customers WHERE a.attname = 'seq') m) || ' ' || nextval(s.seqrelid), ', ' \
                 ORDER BY a.attname) FROM pg_attribute a JOIN pg_sequence s \
                 ON s.seqrelid = pg_get_serial_sequence(a.attrelid::regclass::text, a.attname)::regclass \
                 WHERE a.attidentity <> '' AND a.attrelid IN ('orders'::regclass, 'customers'::regclass);",
                "a orders_number_seq 100 5 1 false 100-25095 25100, d customer_numbers 10 10 1 false 10-1000 1010",
            )),
            ..Case::orders("add_column_identity_options", "0002_numbers.sql")
        },
        // Identity columns with RESTART WITH, UNLOGGED and OWNED BY NONE (issue 11): the fill
        // numbers the rows from the RESTART value, the identity's sequence is unlogged as the
        // file makes it (was: none of the options read, the rows numbered from 1 and the
        // identity with PostgreSQL's defaults).
        Case {
            expect: Some((
                "SELECT 'E|' || string_agg(a.attidentity::text || ' ' || s.seqrelid::regclass::text || ' ' || \
                 s.seqstart || ' ' || s.seqincrement || ' ' || c.relpersistence::text || ' ' || \
                 (SELECT min(n) || '-' || max(n) FROM (SELECT number AS n FROM orders WHERE a.attname = 'number' \
                 UNION ALL SELECT seq FROM customers WHERE a.attname = 'seq') m) || ' ' || nextval(s.seqrelid), ', ' \
                 ORDER BY a.attname) FROM pg_attribute a JOIN pg_sequence s \
                 ON s.seqrelid = pg_get_serial_sequence(a.attrelid::regclass::text, a.attname)::regclass \
                 JOIN pg_class c ON c.oid = s.seqrelid \
                 WHERE a.attidentity <> '' AND a.attrelid IN ('orders'::regclass, 'customers'::regclass);",
                "a orders_number_seq 100 1 u 500-5499 5500, d customers_seq_seq 1 3 p 1-298 301",
            )),
            ..Case::orders("add_column_identity_more_options", "0002_numbers.sql")
        },
        // A type change of a column whose CHECKs came inline with its ADD COLUMN in an
        // earlier file (issue 11): the swap re-adds them NOT VALID under PostgreSQL's names
        // (orders_priority_check, orders_priority_check1) and the file's, validated after
        // (was: not in the history, dropped with the old column).
        Case {
            before_row: "ROW(id, customer_id, amount, ref, email, note, priority)",
            after_row: "ROW(id, customer_id, amount, ref, email, note, priority)",
            expect: Some((
                "SELECT 'E|' || string_agg(conname || ' ' || convalidated::text || ' ' || pg_get_constraintdef(oid), ', ' \
                 ORDER BY conname) FROM pg_constraint WHERE conrelid = 'orders'::regclass AND contype = 'c';",
                "orders_priority_check true CHECK ((priority > 0)), orders_priority_check1 true CHECK ((priority < 1000)), \
                 orders_priority_not_13 true CHECK ((priority <> 13))",
            )),
            original_flagged: true,
            ..Case::orders("retype_added_check", "0002_priority_bigint.sql")
        },
        // CHECKs whose names PostgreSQL chooses past the taken ones, and table CHECKs on the
        // retyped column (issue 11): the swap re-adds priority's inline CHECK as
        // orders_priority_check1 (the history's name; was orders_priority_check, which
        // amount's CHECK has: "already exists") and its table CHECKs, on it alone and on it
        // and amount (was: not tied to the column, dropped with it); score's inline CHECK is
        // orders_score_check1, another table having orders_score_check (was: _check).
        Case {
            before_row: "ROW(id, customer_id, amount, ref, email, note, priority)",
            after_row: "ROW(id, customer_id, amount, ref, email, note, priority)",
            expect: Some((
                "SELECT 'E|' || string_agg(conrelid::regclass::text || ' ' || conname || ' ' || convalidated::text || ' ' \
                 || pg_get_constraintdef(oid), ', ' ORDER BY conrelid::regclass::text, conname) FROM pg_constraint \
                 WHERE contype = 'c' AND conrelid IN ('orders'::regclass, 'legacy_events'::regclass);",
                "legacy_events orders_score_check true CHECK ((id > 0)), orders orders_check true CHECK ((priority <= amount)), \
                 orders orders_priority_check true CHECK ((amount > 0)), orders orders_priority_check1 true CHECK ((priority > 0)), \
                 orders orders_priority_check2 true CHECK ((priority < 1000)), orders orders_score_check1 true CHECK ((score >= 0))",
            )),
            original_flagged: true,
            ..Case::orders("retype_check_names", "0002_priority_score.sql")
        },
        // Unnamed foreign keys, added to an existing column and inline in ADD COLUMN, where
        // another table holds the names PostgreSQL would try first (issue 11): the plan's
        // NOT VALID keys take the names PostgreSQL gives, orders_customer_id_fkey1 and
        // orders_buyer_id_fkey1 (was: _fkey, so the plan's schema differed from the file's).
        Case {
            expect: Some((
                "SELECT 'E|' || string_agg(conname || ' ' || convalidated::text || ' ' || pg_get_constraintdef(oid), ', ' \
                 ORDER BY conname) FROM pg_constraint WHERE conrelid = 'orders'::regclass AND contype = 'f';",
                "orders_buyer_id_fkey1 true FOREIGN KEY (buyer_id) REFERENCES customers(id), \
                 orders_customer_id_fkey1 true FOREIGN KEY (customer_id) REFERENCES customers(id)",
            )),
            original_flagged: true,
            ..Case::orders("fk_names", "0002_orders_fks.sql")
        },
        // A type change of a column whose identity an earlier file dropped (issue 11): a plain
        // copy (was: the history still took it for an identity column, and the swap failed
        // reading the sequence it no longer has).
        Case {
            before_row: "ROW(id, customer_id, amount, ref, email, note, seq)",
            after_row: "ROW(id, customer_id, amount, ref, email, note, seq)",
            expect: Some((
                "SELECT 'E|' || format_type(atttypid, atttypmod) || ' ' || attidentity::text || ' ' || attnotnull::text || ' ' || \
                 coalesce(pg_get_serial_sequence('orders', 'seq'), 'none') FROM pg_attribute \
                 WHERE attrelid = 'orders'::regclass AND attname = 'seq';",
                "bigint  false none",
            )),
            original_flagged: true,
            ..Case::orders("retype_dropped_identity", "0002_seq_bigint.sql")
        },
        // Type changes of a key column and of a key's INCLUDE column, the keys attached
        // with ADD CONSTRAINT ... UNIQUE USING INDEX to indexes made with INCLUDE / NULLS NOT
        // DISTINCT (issue 11): the copies keep both (was: a plain unique index on the key
        // column, and the INCLUDE column's DROP COLUMN dropped the other key).
        Case {
            expect: Some((
                "SELECT 'E|' || string_agg(conname || ' ' || pg_get_constraintdef(oid), ', ' ORDER BY conname) \
                 FROM pg_constraint WHERE conrelid = 'orders'::regclass AND contype = 'u';",
                "orders_amount_uq UNIQUE NULLS NOT DISTINCT (amount) INCLUDE (note), \
                 orders_email_customer_idx UNIQUE (email) INCLUDE (customer_id)",
            )),
            original_flagged: true,
            ..Case::orders("retype_key_using_index", "0002_widen.sql")
        },
        // ente's serial to bigint identity (issue 11): the file's DROP SEQUENCE runs after
        // the type change's swap (was: first, while the old column's default used it).
        Case {
            table: "legacy_events",
            final_table: "legacy_events",
            before_row: "ROW(id, payload)",
            after_row: "ROW(id, payload)",
            ..Case::orders("serial_to_identity", "0002_events_identity.sql")
        },
    ]
}

#[derive(Debug)]
struct Step {
    stage: String,
    title: String,
    sql: String,
    no_transaction: bool,
    /// Helper objects the step leaves in place on purpose (not the file's schema).
    leaves: Vec<String>,
}

fn env_flag(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| !v.is_empty() && v != "0" && !v.eq_ignore_ascii_case("false"))
}

fn fixture_dir(dir: &str) -> String {
    format!("{}/fixtures/plans/{dir}", env!("CARGO_MANIFEST_DIR"))
}

fn plan_of(case: &Case) -> Vec<Step> {
    let out = Command::new(env!("CARGO_BIN_EXE_migrade"))
        .args(["lint", "--format", "json", "--no-config", "--pg-version", "15", &fixture_dir(case.dir)])
        .output()
        .expect("run migrade");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{}: not JSON: {e}", case.dir));
    let f = v["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"].as_str().unwrap().ends_with(case.file))
        .unwrap_or_else(|| panic!("{}: no report for {}", case.dir, case.file));
    f["plan"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| Step {
            stage: p["stage"].as_str().unwrap().to_string(),
            title: p["title"].as_str().unwrap().to_string(),
            sql: p["sql"].as_str().unwrap().to_string(),
            no_transaction: p["no_transaction"].as_bool().unwrap(),
            leaves: p["leaves"]
                .as_array()
                .map(|a| a.iter().map(|x| x.as_str().unwrap().rsplit('.').next().unwrap().to_string()).collect())
                .unwrap_or_default(),
        })
        .collect()
}

fn prelude(schema: &str) -> String {
    format!("SET client_min_messages = warning;\nSET statement_timeout = '120s';\nSET search_path = {schema};\n")
}

/// Runs a script in a schema; panics with the server's error.
fn run(server: &Server, schema: &str, what: &str, sql: &str) -> String {
    let out = server.sql(&format!("{}{sql}\n", prelude(schema)));
    assert!(out.ok, "{what} failed:\n{}\n--- SQL ---\n{sql}", out.stderr);
    out.stdout
}

/// Lines that start with `tag|`, without the tag.
fn tagged(out: &str, tag: &str) -> Vec<String> {
    let p = format!("{tag}|");
    out.lines().filter_map(|l| l.strip_prefix(&p)).map(str::to_string).collect()
}

/// The step's statements without its own BEGIN / COMMIT.
fn without_tx(sql: &str) -> String {
    let sp = migrade::split::split(sql);
    let mut out = Vec::new();
    for st in &sp.statements {
        let body = sql[st.start..st.body_end].trim();
        if matches!(body.to_ascii_uppercase().as_str(), "BEGIN" | "COMMIT" | "START TRANSACTION" | "END") {
            continue;
        }
        out.push(format!("{body};"));
    }
    out.join("\n")
}

/// What a transactional step did to the table.
struct Measured {
    locks: Vec<String>,
    read: i64,
}

/// Runs statements in one transaction and reads, before COMMIT, the session's
/// locks on the table and how many of its rows it read.
fn measured(server: &Server, schema: &str, what: &str, oid: i64, sql: &str) -> Measured {
    let counters = |tag: &str| {
        format!(
            "SELECT '{tag}|' || pg_stat_get_xact_tuples_returned({oid}) + pg_stat_get_xact_tuples_fetched({oid});\n"
        )
    };
    let script = format!(
        "BEGIN;\n{}{sql}\n{}SELECT 'L|' || mode FROM pg_locks WHERE locktype = 'relation' AND relation = {oid} \
         AND pid = pg_backend_pid();\nCOMMIT;\n",
        counters("R0"),
        counters("R1")
    );
    let out = run(server, schema, what, &script);
    let num = |tag: &str| tagged(&out, tag).first().and_then(|s| s.parse::<i64>().ok()).unwrap_or(0);
    Measured { locks: tagged(&out, "L"), read: num("R1") - num("R0") }
}

fn holds_ae_while_scanning(m: &Measured, rows: i64) -> bool {
    m.locks.iter().any(|l| l == "AccessExclusiveLock") && m.read * 10 >= rows * 9
}

/// The schema as a set of comparable lines.
fn describe(server: &Server, schema: &str) -> BTreeSet<String> {
    let q = format!(
        "SELECT 'C|' || table_name || '|' || column_name || '|' || data_type || '|' || is_nullable || '|' || \
           coalesce(column_default, '') FROM information_schema.columns WHERE table_schema = '{schema}';\n\
         SELECT 'K|' || r.relname || '|' || k.conname || '|' || k.contype::text || '|' || pg_get_constraintdef(k.oid) || \
           '|valid=' || k.convalidated FROM pg_constraint k JOIN pg_class r ON r.oid = k.conrelid \
           WHERE r.relnamespace = '{schema}'::regnamespace;\n\
         SELECT 'I|' || t.relname || '|' || i.relname || '|' || replace(pg_get_indexdef(i.oid), '{schema}.', '') || \
           '|valid=' || x.indisvalid FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid \
           JOIN pg_class t ON t.oid = x.indrelid WHERE t.relnamespace = '{schema}'::regnamespace;\n\
         SELECT 'R|' || relname || '|' || relkind::text FROM pg_class WHERE relnamespace = '{schema}'::regnamespace \
           AND relkind IN ('r', 'p', 'v', 'm', 'S', 'f');\n\
         SELECT 'T|' || r.relname || '|' || t.tgname FROM pg_trigger t JOIN pg_class r ON r.oid = t.tgrelid \
           WHERE r.relnamespace = '{schema}'::regnamespace AND NOT t.tgisinternal;\n\
         SELECT 'F|' || proname FROM pg_proc WHERE pronamespace = '{schema}'::regnamespace;\n"
    );
    let out = run(server, schema, "describe", &q);
    out.lines().filter(|l| l.len() > 2 && l.as_bytes()[1] == b'|').map(str::to_string).collect()
}

fn checksum(server: &Server, schema: &str, table: &str, row: &str) -> String {
    let out = run(
        server,
        schema,
        "checksum",
        &format!("SELECT 'S|' || count(*) || '|' || md5(string_agg(({row})::text, ',' ORDER BY id)) FROM {table};"),
    );
    tagged(&out, "S").into_iter().next().unwrap_or_default()
}

/// Applies one case; returns the report lines, or the failures.
fn apply_case(server: &Server, idx: usize, case: &Case) -> Result<Vec<String>, Vec<String>> {
    let mut log = Vec::new();
    let mut failures = Vec::new();
    let steps = plan_of(case);
    if steps.is_empty() {
        return Err(vec![format!("{}: no plan", case.dir)]);
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/plans").join(case.dir);
    let create = std::fs::read_to_string(root.join("0001_create.sql")).expect("0001_create.sql");
    let original = std::fs::read_to_string(root.join(case.file)).expect("migration");
    let (a, b, ctl) = (format!("plan_a_{idx}"), format!("plan_b_{idx}"), format!("plan_ctl_{idx}"));

    // B: the schema the original migration produces.
    server.sql(&format!("CREATE SCHEMA {b};"));
    run(server, &b, "schema B", &format!("{create}\n{original}"));

    // Control: the original migration on a table with rows.
    if case.original_flagged {
        server.sql(&format!("CREATE SCHEMA {ctl};"));
        run(server, &ctl, "control setup", &format!("{create}\n{DATA}"));
        let oid: i64 =
            tagged(&run(server, &ctl, "oid", &format!("SELECT 'O|' || '{}'::regclass::oid;", case.table)), "O")[0]
                .parse()
                .unwrap();
        let m = measured(server, &ctl, "control", oid, &without_tx(&original));
        log.push(format!("  control: the original migration holds {:?} and reads {} rows", m.locks, m.read));
        if !holds_ae_while_scanning(&m, ROWS) {
            failures.push(format!(
                "{}: control failed: the original migration should hold ACCESS EXCLUSIVE while scanning \
                 (locks {:?}, rows read {})",
                case.dir, m.locks, m.read
            ));
        }
    }

    // A: the plan, step by step, on a table with rows.
    server.sql(&format!("CREATE SCHEMA {a};"));
    run(server, &a, "schema A", &format!("{create}\n{DATA}"));
    let oid: i64 = tagged(&run(server, &a, "oid", &format!("SELECT 'O|' || '{}'::regclass::oid;", case.table)), "O")[0]
        .parse()
        .unwrap();
    let rows: i64 = tagged(&run(server, &a, "rows", &format!("SELECT 'N|' || count(*) FROM {};", case.table)), "N")[0]
        .parse()
        .unwrap();
    let mut before = checksum(server, &a, case.table, case.before_row);
    let mut wrote = false;
    let app_writes = |wrote: &mut bool, before: &mut String, log: &mut Vec<String>| {
        if let Some(w) = case.app_writes.filter(|_| !*wrote) {
            run(server, &a, "application writes", w);
            log.push("  application writes through the old (and new) names".to_string());
            *before = checksum(server, &a, case.table, case.before_row);
        }
        *wrote = true;
    };
    for (n, s) in steps.iter().enumerate() {
        let what = format!("{} step {} [{}] {}", case.dir, n + 1, s.stage, s.title);
        // Application writes once the expand stage is done (or before the step the case
        // names), then the checksum to keep.
        let due = match case.app_writes_before {
            Some(prefix) => s.title.starts_with(prefix),
            None => s.stage != "expand",
        };
        if due {
            app_writes(&mut wrote, &mut before, &mut log);
        }
        if s.sql.is_empty() {
            if s.title.starts_with("fill those NULLs")
                && let Some(f) = case.fill
            {
                run(server, &a, &what, f);
                log.push(format!("  {:>2}. (instruction, the test fills: {f})", n + 1));
            } else {
                log.push(format!("  {:>2}. (instruction) {}", n + 1, clip(&s.title, 90)));
            }
            continue;
        }
        if s.no_transaction {
            let t = Instant::now();
            run(server, &a, &what, &s.sql);
            log.push(format!(
                "  {:>2}. [{}] autocommit, {} ms: {}",
                n + 1,
                s.stage,
                t.elapsed().as_millis(),
                clip(&s.title, 80)
            ));
            continue;
        }
        let m = measured(server, &a, &what, oid, &without_tx(&s.sql));
        let ae = m.locks.iter().any(|l| l == "AccessExclusiveLock");
        log.push(format!(
            "  {:>2}. [{}] {} rows read{}: {}",
            n + 1,
            s.stage,
            m.read,
            if ae { ", ACCESS EXCLUSIVE" } else { "" },
            clip(&s.title, 80)
        ));
        if holds_ae_while_scanning(&m, rows) {
            failures.push(format!(
                "{what}: holds ACCESS EXCLUSIVE on {} while reading {} of {rows} rows",
                case.table, m.read
            ));
        }
    }

    app_writes(&mut wrote, &mut before, &mut log);
    if let Some((q, want)) = case.expect {
        let got = tagged(&run(server, &a, "expect", q), "E");
        if got != [want] {
            failures.push(format!("{}: `{q}` gives {got:?} after the plan, expected {want}", case.dir));
        } else {
            log.push(format!("  after the plan: {want}"));
        }
    }
    // (b) no rows lost, values equal.
    let after = checksum(server, &a, case.final_table, case.after_row);
    if before != after || before.is_empty() {
        failures.push(format!("{}: data changed: before {before}, after {after}", case.dir));
    }
    // (a) the intended schema, minus the helpers the plan leaves on purpose (a backup
    // table: `C|<table>|...`, `R|<table>|...`; an index: `I|<table>|<index>|...`).
    let helpers: BTreeSet<&str> = steps.iter().flat_map(|s| s.leaves.iter().map(String::as_str)).collect();
    let not_helper = |f: &String| {
        let mut parts = f.split('|');
        let (kind, rel, index) = (parts.next(), parts.next(), parts.next());
        !(rel.is_some_and(|r| helpers.contains(r)) || (kind == Some("I") && index.is_some_and(|i| helpers.contains(i))))
    };
    let sa: BTreeSet<String> = describe(server, &a).into_iter().filter(not_helper).collect();
    let sb = describe(server, &b);
    if sa != sb {
        let only_a: Vec<&String> = sa.difference(&sb).collect();
        let only_b: Vec<&String> = sb.difference(&sa).collect();
        failures.push(format!(
            "{}: the plan's schema differs from the migration's:\n    only after the plan: {only_a:#?}\n    only after the migration: {only_b:#?}",
            case.dir
        ));
    } else {
        log.push(format!("  schema equal ({} facts), data equal ({after})", sa.len()));
    }
    // The same plan as the files `migrade plan --split` writes, run as their headers say.
    if case.split {
        let c = format!("plan_c_{idx}");
        server.sql(&format!("CREATE SCHEMA {c};"));
        run(server, &c, "schema C", &format!("{create}\n{DATA}"));
        let before_c = checksum(server, &c, case.table, case.before_row);
        let dir = tempfile::tempdir().expect("temp dir");
        let out = Command::new(env!("CARGO_BIN_EXE_migrade"))
            .args(["plan", "--no-config", root.join(case.file).to_str().unwrap(), "--split"])
            .arg(dir.path())
            .output()
            .expect("run migrade plan");
        assert!(out.status.success(), "migrade plan --split: {}", String::from_utf8_lossy(&out.stderr));
        let mut files: Vec<_> = std::fs::read_dir(dir.path()).unwrap().flatten().map(|e| e.path()).collect();
        files.sort();
        for f in &files {
            let text = std::fs::read_to_string(f).unwrap();
            let one_tx = text.contains("-- runs as one transaction");
            let script = if one_tx { format!("BEGIN;\n{text}\nCOMMIT;") } else { text };
            run(server, &c, &f.display().to_string(), &script);
        }
        let sc: BTreeSet<String> = describe(server, &c).into_iter().filter(not_helper).collect();
        let after_c = checksum(server, &c, case.final_table, case.after_row);
        if sc != sb || before_c != after_c {
            failures.push(format!(
                "{}: the --split files give another schema or data: only after them {:#?}, only after the migration {:#?}, data {before_c} -> {after_c}",
                case.dir,
                sc.difference(&sb).collect::<Vec<_>>(),
                sb.difference(&sc).collect::<Vec<_>>()
            ));
        } else {
            log.push(format!("  --split: {} files applied with psql, same schema and data", files.len()));
        }
    }
    if failures.is_empty() { Ok(log) } else { Err(failures.into_iter().chain(log).collect()) }
}

/// Data migrations: (fixture folder, file, table, target version). Version 10
/// gets the psql `\gexec` script instead of a `DO` loop with COMMIT.
const DATA_CASES: &[(&str, &str, &str, u32)] = &[
    ("large_update", "0002_fill_notes.sql", "orders", 15),
    ("large_update", "0002_fill_notes.sql", "orders", 10),
    ("update_all", "0002_upper_notes.sql", "orders", 15),
    ("large_delete", "0002_delete_small.sql", "orders", 15),
    ("large_delete", "0002_delete_small.sql", "orders", 10),
    ("two_updates", "0002_notes.sql", "orders", 15),
    ("update_from", "0002_customer_name.sql", "orders", 15),
];

/// Runs every step of a data migration's plan in schema A and the original in
/// schema B; the table must end up the same.
fn apply_data_case(server: &Server, idx: usize, dir: &str, file: &str, table: &str, pg: u32) -> Result<String, String> {
    let out = Command::new(env!("CARGO_BIN_EXE_migrade"))
        .args(["lint", "--format", "json", "--no-config", "--pg-version", &pg.to_string(), &fixture_dir(dir)])
        .output()
        .expect("run migrade");
    let v: Value = serde_json::from_slice(&out.stdout).map_err(|e| format!("not JSON: {e}"))?;
    let f = v["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"].as_str().unwrap().ends_with(file))
        .ok_or("no report")?;
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/plans").join(dir);
    let create = std::fs::read_to_string(root.join("0001_create.sql")).unwrap();
    let original = std::fs::read_to_string(root.join(file)).unwrap();
    let (a, b) = (format!("data_a_{idx}"), format!("data_b_{idx}"));
    server.sql(&format!("CREATE SCHEMA {a}; CREATE SCHEMA {b};"));
    run(server, &a, "setup A", &format!("{create}\n{DATA}"));
    run(server, &b, "setup B", &format!("{create}\n{DATA}"));
    let mut log = Vec::new();
    for p in f["plan"].as_array().unwrap() {
        let sql = p["sql"].as_str().unwrap();
        if sql.is_empty() {
            continue;
        }
        let t = Instant::now();
        run(server, &a, p["title"].as_str().unwrap(), sql);
        log.push(format!("  {} ms: {}", t.elapsed().as_millis(), clip(p["title"].as_str().unwrap(), 90)));
    }
    run(server, &b, "original", &original);
    let (ca, cb) = (checksum(server, &a, table, table), checksum(server, &b, table, table));
    if ca != cb {
        return Err(format!("the batched plan gives {ca}, the original statement {cb}"));
    }
    log.push(format!("  same rows as the original statement ({ca})"));
    Ok(log.join("\n"))
}

/// The loops walk any key type: a text and a uuid primary key (no `min()` on
/// uuid: keyset order only), with a `%` in the WHERE (the psql script passes it
/// through format()).
fn text_key_loops(server: &Server) -> Result<String, String> {
    let t = migrade::ir::QName::new("tags");
    let mut log = Vec::new();
    for (ty, key, cond) in
        [("text", "md5(g::text)", "code::text LIKE 'a%'"), ("uuid", "md5(g::text)::uuid", "code::text LIKE 'a%'")]
    {
        let setup = format!(
            "CREATE TABLE tags (code {ty} PRIMARY KEY, label text);\n\
             INSERT INTO tags SELECT {key}, 'label ' || g FROM generate_series(1, 2500) g;"
        );
        for pg in [15, 10] {
            let loop_sql =
                migrade::plan::batched_update_for(&t, &"code".into(), "label = upper(label)", Some(cond), pg);
            let (a, b) = (format!("tags_a_{ty}_{pg}"), format!("tags_b_{ty}_{pg}"));
            server.sql(&format!("CREATE SCHEMA {a}; CREATE SCHEMA {b};"));
            run(server, &a, "setup", &setup);
            run(server, &b, "setup", &setup);
            run(server, &a, "batched loop", &loop_sql);
            run(server, &b, "original", &format!("UPDATE tags SET label = upper(label) WHERE {cond};"));
            let q = "SELECT 'S|' || count(*) FILTER (WHERE label LIKE 'LABEL%') || '|' || \
                     md5(string_agg(tags::text, ',' ORDER BY code)) FROM tags;";
            let (ca, cb) = (tagged(&run(server, &a, "sum", q), "S"), tagged(&run(server, &b, "sum", q), "S"));
            if ca != cb || ca.first().is_none_or(|s| s.starts_with("0|")) {
                return Err(format!("{ty} key, pg {pg}: loop {ca:?}, original {cb:?}"));
            }
            log.push(format!("  {ty} key, pg {pg}: same rows as the original ({})", ca[0]));
        }
    }
    Ok(log.join("\n"))
}

/// A composite primary key (issue 11): the keyset loop walks `(a, b)` with row
/// comparisons and changes the same rows as the original statement.
fn composite_key_loop(server: &Server) -> Result<String, String> {
    let t = migrade::ir::QName::new("pairs");
    let key = migrade::plan::Key(vec!["a".into(), "b".into()]);
    let setup = "CREATE TABLE pairs (a int, b text, label text, PRIMARY KEY (a, b));\n\
                 INSERT INTO pairs SELECT g % 7, md5(g::text), 'label ' || g FROM generate_series(1, 2500) g;";
    let cond = "label LIKE '%1%'";
    let loop_sql = migrade::plan::batched_update_for(&t, &key, "label = upper(label)", Some(cond), 15);
    if !loop_sql.contains("(pairs.a, pairs.b) >= (batch_lo.a, batch_lo.b)") {
        return Err(format!("not a row-comparison keyset loop:\n{loop_sql}"));
    }
    let (a, b) = ("pairs_a".to_string(), "pairs_b".to_string());
    server.sql(&format!("CREATE SCHEMA {a}; CREATE SCHEMA {b};"));
    run(server, &a, "setup", setup);
    run(server, &b, "setup", setup);
    run(server, &a, "batched loop", &loop_sql);
    run(server, &b, "original", &format!("UPDATE pairs SET label = upper(label) WHERE {cond};"));
    let q = "SELECT 'S|' || count(*) FILTER (WHERE label LIKE 'LABEL%') || '|' || \
             md5(string_agg(pairs::text, ',' ORDER BY a, b)) FROM pairs;";
    let (ca, cb) = (tagged(&run(server, &a, "sum", q), "S"), tagged(&run(server, &b, "sum", q), "S"));
    if ca != cb || ca.first().is_none_or(|s| s.starts_with("0|")) {
        return Err(format!("composite key: loop {ca:?}, original {cb:?}"));
    }
    Ok(format!("  (a, b) key: same rows as the original ({})", ca[0]))
}

/// The trigger-free fill (`session_replication_role = replica`) run by a role that may
/// not set it (not a superuser, no `GRANT SET ON PARAMETER`): every step of the
/// add_default_with_trigger plan still runs, the fill says in a NOTICE that the triggers
/// fire, and they do (updated_at is stamped). Then the same plan as the superuser: no
/// NOTICE, and no row is stamped.
fn fill_without_the_right_to_skip_triggers(server: &Server) -> Result<String, String> {
    let case = Case::orders("add_default_with_trigger", "0002_add_token.sql");
    let steps = plan_of(&case);
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/plans").join(case.dir);
    let create = std::fs::read_to_string(root.join("0001_create.sql")).map_err(|e| e.to_string())?;
    let mut log = Vec::new();
    server.sql("CREATE ROLE migrade_plain NOSUPERUSER LOGIN;");
    for (schema, role) in [("quiet_plain", Some("migrade_plain")), ("quiet_super", None)] {
        let set_role = role.map(|r| format!("SET ROLE {r};\n")).unwrap_or_default();
        let auth = role.map(|r| format!(" AUTHORIZATION {r}")).unwrap_or_default();
        server.sql(&format!("CREATE SCHEMA {schema}{auth};"));
        run(server, schema, "setup", &format!("{set_role}{create}\n{DATA}"));
        let mut notices = 0;
        for st in steps.iter().filter(|st| !st.sql.is_empty()) {
            let sql = format!("{}SET client_min_messages = notice;\n{set_role}{}\n", prelude(schema), st.sql);
            let out = server.sql(&sql);
            if !out.ok {
                return Err(format!("{schema}: step `{}` failed: {}", st.title, out.stderr));
            }
            notices += out.stderr.matches("cannot set session_replication_role: the triggers of").count();
        }
        let q = "SELECT 'E|' || count(*) FILTER (WHERE token IS NULL) || '/' || \
                 count(*) FILTER (WHERE updated_at <> '2000-01-01') FROM orders;";
        let got = tagged(&run(server, schema, "after", q), "E");
        let (nulls, stamped) =
            got.first().and_then(|g| g.split_once('/')).ok_or_else(|| format!("{schema}: no result: {got:?}"))?;
        let plain = role.is_some();
        if nulls != "0" || (stamped == "0") == plain || (notices > 0) != plain {
            return Err(format!(
                "{schema}: {nulls} rows without a token, {stamped} rows stamped by the trigger, {notices} NOTICEs \
                 (expected 0, {}, {})",
                if plain { "all" } else { "none" },
                if plain { "some" } else { "none" }
            ));
        }
        log.push(format!(
            "  {}: the plan runs; {notices} NOTICEs that the triggers fire; {stamped} rows stamped",
            role.unwrap_or("superuser")
        ));
    }
    Ok(log.join("\n"))
}

fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n { s.to_string() } else { format!("{}…", s.chars().take(n - 1).collect::<String>()) }
}

#[test]
fn plans_applied_to_a_real_server() {
    let bins = match server::find_bins() {
        Ok(b) => b,
        Err(e) => {
            if env_flag("MIGRADE_SKIP_PG") {
                let bar = "!".repeat(78);
                let _ = writeln!(
                    std::io::stderr(),
                    "\n{bar}\n!!! plans_pg SKIPPED (MIGRADE_SKIP_PG=1): {e}\n\
                     !!! The expand/contract plans were NOT applied to a real PostgreSQL server.\n{bar}\n"
                );
                return;
            }
            panic!(
                "plans_pg: {e}.\nInstall Debian's `postgresql` package (apt-get install postgresql), \
                 point MIGRADE_PG_BINDIR at a bin directory with initdb/pg_ctl/postgres, \
                 or set MIGRADE_SKIP_PG=1 to skip this test."
            );
        }
    };
    let t0 = Instant::now();
    let server = Server::start(&bins).unwrap_or_else(|e| panic!("plans_pg: cannot start PostgreSQL: {e}"));
    println!("plans_pg: PostgreSQL {} from {}", bins.major, bins.bindir.display());
    let mut failed = Vec::new();
    let all = cases();
    for (i, case) in all.iter().enumerate() {
        println!("[{}] {}/{}", i + 1, case.dir, case.file);
        match apply_case(&server, i + 1, case) {
            Ok(log) => {
                for l in log {
                    println!("{l}");
                }
                println!("  ok");
            }
            Err(msgs) => {
                for m in &msgs {
                    println!("  {m}");
                }
                failed.push(format!("{}: {}", case.dir, msgs[0]));
            }
        }
    }
    // The batched loops of data migrations give the same rows as the original statement.
    for (i, (dir, file, table, pg)) in DATA_CASES.iter().enumerate() {
        let name = format!("{dir} (--pg-version {pg})");
        println!("[data {}] {name}", i + 1);
        match apply_data_case(&server, i + 1, dir, file, table, *pg) {
            Ok(l) => println!("{l}\n  ok"),
            Err(e) => {
                println!("  {e}");
                failed.push(format!("{name}: {e}"));
            }
        }
    }
    match composite_key_loop(&server) {
        Ok(l) => println!("[data] composite primary key\n{l}\n  ok"),
        Err(e) => {
            println!("[data] composite primary key\n  {e}");
            failed.push(format!("composite primary key: {e}"));
        }
    }
    match fill_without_the_right_to_skip_triggers(&server) {
        Ok(l) => println!("[data] trigger-free fill without the right to set session_replication_role\n{l}\n  ok"),
        Err(e) => {
            println!("[data] trigger-free fill without the right to set session_replication_role\n  {e}");
            failed.push(format!("trigger-free fill without the right: {e}"));
        }
    }
    match text_key_loops(&server) {
        Ok(l) => println!("[data] text and uuid primary keys\n{l}\n  ok"),
        Err(e) => {
            println!("[data] text and uuid primary keys\n  {e}");
            failed.push(format!("text and uuid primary keys: {e}"));
        }
    }
    println!(
        "plans_pg: {} plan cases, {} data cases in {:.1}s, {} failed",
        all.len(),
        DATA_CASES.len() + 2,
        t0.elapsed().as_secs_f64(),
        failed.len()
    );
    drop(server);
    assert!(failed.is_empty(), "plans_pg failed:\n{}", failed.join("\n"));
}
