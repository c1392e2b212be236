//! Expand/contract recipes (EXPAND-CONTRACT.md) with the file's real names.
//! Every step is runnable SQL, or an instruction when `sql` is empty.

use crate::ir::{QName, quote_ident};
use crate::model::{PlanStep, Stage};

const LT: &str = "SET lock_timeout = '5s';";

fn qi(s: &str) -> String {
    quote_ident(s)
}

/// A primary-key-range batched UPDATE, committing each batch (PG 11+ DO with COMMIT).
pub fn batched_update(table: &QName, pk: &str, set_sql: &str, extra_where: Option<&str>) -> String {
    batched(table, pk, &format!("UPDATE {table} SET {set_sql}"), extra_where)
}

/// A primary-key-range batched DELETE.
pub fn batched_delete(table: &QName, pk: &str, where_sql: Option<&str>) -> String {
    batched(table, pk, &format!("DELETE FROM {table}"), where_sql)
}

fn batched(table: &QName, pk: &str, head: &str, extra_where: Option<&str>) -> String {
    let cond = extra_where.map(|w| format!("\n      AND ({w})")).unwrap_or_default();
    let pk = qi(pk);
    [
        "-- run outside a transaction block (psql autocommit): one transaction per batch".to_string(),
        "DO $batch$".to_string(),
        "DECLARE".to_string(),
        "  batch_start bigint;".to_string(),
        "  max_id bigint;".to_string(),
        "  batch_size constant int := 1000;".to_string(),
        "BEGIN".to_string(),
        format!("  SELECT min({pk}), max({pk}) INTO batch_start, max_id FROM {table};"),
        "  WHILE batch_start <= max_id LOOP".to_string(),
        format!("    {head}"),
        format!("    WHERE {pk} >= batch_start AND {pk} < batch_start + batch_size{cond};"),
        "    COMMIT;".to_string(),
        "    PERFORM pg_sleep(0.01);".to_string(),
        "    batch_start := batch_start + batch_size;".to_string(),
        "  END LOOP;".to_string(),
        "END".to_string(),
        "$batch$;".to_string(),
    ]
    .join("\n")
}

pub fn drop_column(table: &QName, column: &str) -> Vec<PlanStep> {
    let c = qi(column);
    vec![
        PlanStep::new(Stage::Deploy, format!("deploy code that no longer reads or writes {table}.{c}"), ""),
        PlanStep::new(
            Stage::Contract,
            format!("check {table}.{c} is unused and back it up"),
            format!(
                "SELECT count(*) FILTER (WHERE {c} IS NOT NULL) AS non_null FROM {table};\n-- pg_dump --table={table} --data-only, or: CREATE TABLE {}_{}_backup AS SELECT * FROM {table};",
                table.name, column
            ),
        ),
        PlanStep::new(
            Stage::Contract,
            format!("drop {table}.{c} (needs approval)"),
            format!("{LT}\nALTER TABLE {table} DROP COLUMN {c};"),
        )
        .lock("ACCESS EXCLUSIVE (brief)")
        .irreversible(),
    ]
}

pub fn drop_table(table: &QName) -> Vec<PlanStep> {
    let backup = format!("{}_deprecated", table.name);
    vec![
        PlanStep::new(Stage::Deploy, format!("deploy code that no longer uses {table}"), ""),
        PlanStep::new(
            Stage::Contract,
            format!("rename {table} first, so it can be brought back cheaply"),
            format!("{LT}\nALTER TABLE {table} RENAME TO {};", qi(&backup)),
        )
        .lock("ACCESS EXCLUSIVE (brief)"),
        PlanStep::new(
            Stage::Contract,
            "after a release with no errors, back up and drop it (needs approval)".to_string(),
            format!("-- pg_dump --table={backup} first\n{LT}\nDROP TABLE {};", qi(&backup)),
        )
        .lock("ACCESS EXCLUSIVE (brief)")
        .irreversible(),
    ]
}

pub fn rename_column(table: &QName, old: &str, new: &str, col_type: Option<&str>, pk: &str) -> Vec<PlanStep> {
    let (o, n) = (qi(old), qi(new));
    let ty = col_type.unwrap_or("<type of the old column>");
    let func = qi(&format!("{}_{}_sync", table.name, new));
    vec![
        PlanStep::new(Stage::Expand, format!("add {table}.{n} beside {o}"), format!("{LT}\nALTER TABLE {table} ADD COLUMN {n} {ty};"))
            .lock("ACCESS EXCLUSIVE (brief, catalog only)"),
        PlanStep::new(
            Stage::Expand,
            format!("keep {n} in sync with {o} while old code runs"),
            format!(
                "CREATE FUNCTION {func}() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n  IF NEW.{n} IS NULL THEN NEW.{n} := NEW.{o}; END IF;\n  IF NEW.{o} IS NULL THEN NEW.{o} := NEW.{n}; END IF;\n  RETURN NEW;\nEND\n$$;\n{LT}\nCREATE TRIGGER {func} BEFORE INSERT OR UPDATE ON {table} FOR EACH ROW EXECUTE FUNCTION {func}();"
            ),
        )
        .lock("SHARE ROW EXCLUSIVE (brief)"),
        PlanStep::new(Stage::Backfill, format!("copy {o} into {n} in batches"), batched_update(table, pk, &format!("{n} = {o}"), Some(&format!("{n} IS DISTINCT FROM {o}"))))
            .lock("ROW EXCLUSIVE per batch")
            .no_transaction(),
        PlanStep::new(Stage::Deploy, format!("deploy code that reads and writes {n} only"), ""),
        PlanStep::new(
            Stage::Contract,
            format!("drop the trigger and the old column {o} (needs approval)"),
            format!("{LT}\nDROP TRIGGER {func} ON {table};\nDROP FUNCTION {func}();\nALTER TABLE {table} DROP COLUMN {o};"),
        )
        .lock("ACCESS EXCLUSIVE (brief)")
        .irreversible(),
        PlanStep::new(
            Stage::Expand,
            "alternative when a short dual-name period is fine: rename and read through a view".to_string(),
            format!("-- only if the application reads {table} through a view it can switch: the rename itself is catalog-only\n{LT}\nALTER TABLE {table} RENAME COLUMN {o} TO {n};"),
        ),
    ]
}

pub fn rename_table(old: &QName, new: &str) -> Vec<PlanStep> {
    let n = qi(new);
    vec![
        PlanStep::new(
            Stage::Expand,
            format!("rename {old} and leave an updatable view under the old name"),
            format!("BEGIN;\nSET LOCAL lock_timeout = '5s';\nALTER TABLE {old} RENAME TO {n};\nCREATE VIEW {old} AS SELECT * FROM {n};\nCOMMIT;"),
        )
        .lock("ACCESS EXCLUSIVE (brief, catalog only)"),
        PlanStep::new(Stage::Deploy, format!("deploy code that uses {n}"), ""),
        PlanStep::new(Stage::Contract, format!("drop the compatibility view {old}"), format!("{LT}\nDROP VIEW {old};"))
            .lock("ACCESS EXCLUSIVE on the view (brief)"),
    ]
}

/// What the plan knows about the column whose type changes.
pub struct ColumnInfo<'a> {
    pub not_null: bool,
    pub indexes: Vec<(&'a str, bool)>,
    pub pk: String,
    pub pg_version: u32,
}

pub fn change_column_type(table: &QName, column: &str, new_type: &str, info: &ColumnInfo) -> Vec<PlanStep> {
    let c = qi(column);
    let tmp = format!("{column}_new");
    let n = qi(&tmp);
    let func = qi(&format!("{}_{}_sync", table.name, tmp));
    let mut steps = vec![
        PlanStep::new(Stage::Expand, format!("add {table}.{n} with type {new_type}"), format!("{LT}\nALTER TABLE {table} ADD COLUMN {n} {new_type};"))
            .lock("ACCESS EXCLUSIVE (brief, catalog only)"),
        PlanStep::new(
            Stage::Expand,
            format!("mirror writes of {c} into {n}"),
            format!(
                "CREATE FUNCTION {func}() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n  NEW.{n} := NEW.{c};\n  RETURN NEW;\nEND\n$$;\n{LT}\nCREATE TRIGGER {func} BEFORE INSERT OR UPDATE ON {table} FOR EACH ROW EXECUTE FUNCTION {func}();"
            ),
        )
        .lock("SHARE ROW EXCLUSIVE (brief)"),
        PlanStep::new(
            Stage::Backfill,
            format!("copy {c} into {n} in batches"),
            batched_update(table, &info.pk, &format!("{n} = {c}"), Some(&format!("{n} IS DISTINCT FROM {c}"))),
        )
        .lock("ROW EXCLUSIVE per batch")
        .no_transaction(),
    ];
    for (idx, unique) in &info.indexes {
        let new_idx = qi(&format!("{idx}_new"));
        steps.push(
            PlanStep::new(
                Stage::Backfill,
                format!("build the copy of index {idx} on {n}"),
                format!(
                    "CREATE {}INDEX CONCURRENTLY {new_idx} ON {table} ({n});",
                    if *unique { "UNIQUE " } else { "" }
                ),
            )
            .lock("SHARE UPDATE EXCLUSIVE (reads and writes continue)")
            .no_transaction(),
        );
    }
    if info.not_null {
        steps.extend(not_null_steps(table, &tmp, info.pg_version, Stage::Backfill));
    }
    steps.push(PlanStep::new(Stage::Deploy, format!("deploy code that works with {c} as {new_type}"), ""));
    let mut swap = format!(
        "BEGIN;\nSET LOCAL lock_timeout = '5s';\nDROP TRIGGER {func} ON {table};\nALTER TABLE {table} DROP COLUMN {c};\nALTER TABLE {table} RENAME COLUMN {n} TO {c};\n"
    );
    for (idx, _) in &info.indexes {
        swap.push_str(&format!("ALTER INDEX {} RENAME TO {};\n", qi(&format!("{idx}_new")), qi(idx)));
    }
    swap.push_str(&format!("COMMIT;\nDROP FUNCTION {func}();"));
    steps.push(
        PlanStep::new(Stage::Contract, format!("swap: drop the old {c} and give {n} its name (needs approval)"), swap)
            .lock("ACCESS EXCLUSIVE (brief)")
            .irreversible(),
    );
    steps
}

/// CHECK NOT VALID → VALIDATE → SET NOT NULL → drop the check (PG 12+).
pub fn not_null_steps(table: &QName, column: &str, pg_version: u32, stage: Stage) -> Vec<PlanStep> {
    let c = qi(column);
    let chk = qi(&format!("{}_{}_not_null", table.name, column));
    if pg_version < 12 {
        return vec![PlanStep::new(
            stage,
            format!("set {c} NOT NULL (before PostgreSQL 12 this scans under ACCESS EXCLUSIVE: run it in a quiet window)"),
            format!("{LT}\nALTER TABLE {table} ALTER COLUMN {c} SET NOT NULL;"),
        )
        .lock("ACCESS EXCLUSIVE for a full scan")];
    }
    vec![
        PlanStep::new(
            stage,
            format!("add a NOT VALID check that {c} is not null"),
            format!("{LT}\nALTER TABLE {table} ADD CONSTRAINT {chk} CHECK ({c} IS NOT NULL) NOT VALID;"),
        )
        .lock("ACCESS EXCLUSIVE (brief, no scan)"),
        PlanStep::new(
            stage,
            "validate it in its own transaction".to_string(),
            format!("ALTER TABLE {table} VALIDATE CONSTRAINT {chk};"),
        )
        .lock("SHARE UPDATE EXCLUSIVE (reads and writes continue)"),
        PlanStep::new(
            stage,
            "set NOT NULL, which uses the validated check instead of scanning, and drop the check".to_string(),
            format!(
                "{LT}\nALTER TABLE {table} ALTER COLUMN {c} SET NOT NULL;\nALTER TABLE {table} DROP CONSTRAINT {chk};"
            ),
        )
        .lock("ACCESS EXCLUSIVE (brief, no scan)"),
    ]
}

pub fn set_not_null(table: &QName, column: &str, pk: &str, pg_version: u32) -> Vec<PlanStep> {
    let c = qi(column);
    let mut steps =
        vec![PlanStep::new(Stage::Deploy, format!("deploy code that never writes NULL into {table}.{c}"), "")];
    let mut nn = not_null_steps(table, column, pg_version, Stage::Contract);
    if pg_version >= 12 {
        let first = nn.remove(0);
        steps.push(PlanStep { stage: Stage::Expand, ..first });
        steps.push(
            PlanStep::new(
                Stage::Backfill,
                format!("fill the remaining NULLs of {c} in batches"),
                batched_update(table, pk, &format!("{c} = <value>"), Some(&format!("{c} IS NULL"))),
            )
            .no_transaction(),
        );
    }
    steps.extend(nn);
    steps
}

pub fn add_not_null_column(
    table: &QName,
    column: &str,
    col_type: &str,
    default_sql: Option<&str>,
    pk: &str,
    pg_version: u32,
) -> Vec<PlanStep> {
    let c = qi(column);
    let mut steps = vec![
        PlanStep::new(
            Stage::Expand,
            format!("add {table}.{c} as a nullable column"),
            format!("{LT}\nALTER TABLE {table} ADD COLUMN {c} {col_type};"),
        )
        .lock("ACCESS EXCLUSIVE (brief, catalog only)"),
    ];
    steps.extend(
        set_not_null(table, column, pk, pg_version)
            .into_iter()
            .filter(|s| s.stage != Stage::Deploy || !s.sql.is_empty()),
    );
    if let Some(d) = default_sql {
        for s in &mut steps {
            s.sql = s.sql.replace("<value>", d);
        }
    }
    steps
}

/// An ADD CONSTRAINT statement re-issued NOT VALID, then validated.
pub fn constraint_not_valid(table: &QName, statement_sql: &str, constraint: &str, fk: bool) -> Vec<PlanStep> {
    let mut steps = vec![
        PlanStep::new(
            Stage::Expand,
            format!("add {constraint} NOT VALID: no scan, new rows are checked"),
            format!("{LT}\n{} NOT VALID;", statement_sql.trim().trim_end_matches(';')),
        )
        .lock(if fk { "SHARE ROW EXCLUSIVE on both tables (brief)" } else { "ACCESS EXCLUSIVE (brief)" }),
        PlanStep::new(
            Stage::Expand,
            format!("validate {constraint} in its own transaction"),
            format!("ALTER TABLE {table} VALIDATE CONSTRAINT {};", qi(constraint)),
        )
        .lock("SHARE UPDATE EXCLUSIVE (reads and writes continue)"),
    ];
    if fk {
        steps.push(PlanStep::new(
            Stage::Expand,
            "index the referencing column(s) concurrently if they are not indexed yet".to_string(),
            "",
        ));
    }
    steps
}

pub fn add_unique(
    table: &QName,
    constraint: &str,
    columns: &[String],
    primary: bool,
    pg_version: u32,
) -> Vec<PlanStep> {
    let idx = qi(constraint);
    let cols = columns.iter().map(|c| qi(c)).collect::<Vec<_>>().join(", ");
    let mut steps = vec![
        PlanStep::new(
            Stage::Expand,
            "build the unique index concurrently".to_string(),
            format!("CREATE UNIQUE INDEX CONCURRENTLY {idx} ON {table} ({cols});"),
        )
        .lock("SHARE UPDATE EXCLUSIVE (reads and writes continue)")
        .no_transaction(),
        PlanStep::new(
            Stage::Expand,
            "check the build succeeded; if not, drop the invalid index and retry",
            format!(
                "SELECT indisvalid FROM pg_index WHERE indexrelid = '{}'::regclass;\n-- if false: DROP INDEX CONCURRENTLY {idx}; then build it again",
                constraint.replace('\'', "''")
            ),
        ),
    ];
    if primary {
        for c in columns {
            steps.extend(not_null_steps(table, c, pg_version, Stage::Expand));
        }
    }
    steps.push(
        PlanStep::new(
            Stage::Expand,
            format!("attach it as the {}", if primary { "primary key" } else { "unique constraint" }),
            format!(
                "{LT}\nALTER TABLE {table} ADD CONSTRAINT {idx} {} USING INDEX {idx};",
                if primary { "PRIMARY KEY" } else { "UNIQUE" }
            ),
        )
        .lock("ACCESS EXCLUSIVE (brief, no build)"),
    );
    steps
}

pub fn create_index_concurrently(sql_concurrent: &str, index: Option<&str>) -> Vec<PlanStep> {
    let retry = match index {
        Some(i) => format!(
            "-- if the build fails it leaves an INVALID index; drop it and retry:\nDROP INDEX CONCURRENTLY IF EXISTS {};",
            qi(i)
        ),
        None => "-- if the build fails it leaves an INVALID index: drop it with DROP INDEX CONCURRENTLY and retry"
            .to_string(),
    };
    vec![
        PlanStep::new(
            Stage::Expand,
            "build the index concurrently, in a migration that does not run in a transaction",
            sql_concurrent.to_string(),
        )
        .lock("SHARE UPDATE EXCLUSIVE (reads and writes continue)")
        .no_transaction(),
        PlanStep::new(Stage::Expand, "on failure, remove the invalid index and run it again", retry).no_transaction(),
    ]
}

pub fn drop_index_concurrently(index: &QName) -> Vec<PlanStep> {
    vec![
        PlanStep::new(
            Stage::Contract,
            "drop the index concurrently, in a migration that does not run in a transaction",
            format!("DROP INDEX CONCURRENTLY IF EXISTS {index};"),
        )
        .lock("SHARE UPDATE EXCLUSIVE on the table")
        .no_transaction(),
    ]
}

pub fn large_update(table: &QName, pk: &str, set_sql: Option<&str>, where_sql: Option<&str>) -> Vec<PlanStep> {
    let set = set_sql.unwrap_or("<assignments>");
    vec![
        PlanStep::new(
            Stage::Backfill,
            "back up the rows this changes".to_string(),
            format!(
                "CREATE TABLE {}_backup AS SELECT * FROM {table}{};",
                qi(&table.name).trim_matches('"'),
                where_sql.map(|w| format!(" WHERE {w}")).unwrap_or_default()
            ),
        ),
        PlanStep::new(
            Stage::Backfill,
            format!("update {table} in batches outside the schema migration"),
            batched_update(table, pk, set, where_sql),
        )
        .lock("ROW EXCLUSIVE per batch")
        .no_transaction(),
    ]
}

pub fn large_delete(table: &QName, pk: &str, where_sql: Option<&str>) -> Vec<PlanStep> {
    vec![
        PlanStep::new(
            Stage::Backfill,
            "back up the rows this deletes".to_string(),
            format!(
                "CREATE TABLE {}_backup AS SELECT * FROM {table}{};",
                table.name,
                where_sql.map(|w| format!(" WHERE {w}")).unwrap_or_default()
            ),
        ),
        PlanStep::new(
            Stage::Backfill,
            format!("delete from {table} in batches outside the schema migration"),
            batched_delete(table, pk, where_sql),
        )
        .lock("ROW EXCLUSIVE per batch")
        .no_transaction(),
    ]
}

pub fn split_schema_and_data() -> Vec<PlanStep> {
    vec![
        PlanStep::new(
            Stage::Expand,
            "keep the schema change alone in this migration, with its own short transaction",
            "",
        ),
        PlanStep::new(
            Stage::Backfill,
            "move the data change to a separate migration or job that runs after it, in batches",
            "",
        ),
    ]
}
