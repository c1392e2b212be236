//! Expand/contract recipes (EXPAND-CONTRACT.md) with the file's real names.
//!
//! Every step is runnable SQL, or an instruction when `sql` is empty. A step
//! with `no_transaction` must run outside a transaction block (psql in
//! autocommit mode); every other step is one transaction: run it with
//! `psql --single-transaction` or inside the migration tool's transaction.
//! Steps whose statements must commit together say `BEGIN` … `COMMIT`
//! themselves. Steps that take a lock that blocks reads or writes start with
//! `SET lock_timeout`, so a lock that has to wait fails fast instead of
//! queueing every other session behind it.

use crate::ir::{ConstraintKind, ObjKind, QName, quote_ident};
use crate::model::{PlanStep, Stage};
use crate::schema::Schema;

const LT: &str = "SET lock_timeout = '5s';";
const LT_LOCAL: &str = "SET LOCAL lock_timeout = '5s';";
/// Rows per batch of the batched loops (pgroll and reshape use 1000).
pub const BATCH_SIZE: u32 = 1000;

const AE_BRIEF: &str = "ACCESS EXCLUSIVE (brief: catalog only, no scan)";
const SUE: &str = "SHARE UPDATE EXCLUSIVE (reads and writes continue)";
const ROWS: &str = "ROW EXCLUSIVE, one batch of rows at a time";
const READS: &str = "ACCESS SHARE (reads the table; reads and writes continue)";

fn qi(s: &str) -> String {
    quote_ident(s)
}

/// The key plans batch on: the table's primary key, one column or several (empty:
/// no key, the change runs as one statement).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Key(pub Vec<String>);

impl Key {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// The key's columns as SQL, with a prefix (`batch_lo.`, `t.`): `p.a` or `(p.a, p.b)`.
    fn row(&self, prefix: &str) -> String {
        let cols: Vec<String> = self.0.iter().map(|c| format!("{prefix}{}", qi(c))).collect();
        if cols.len() == 1 { cols[0].clone() } else { format!("({})", cols.join(", ")) }
    }
    /// The columns for a select or an ORDER BY: `a, b` (each with `suffix`, e.g. ` DESC`).
    fn list(&self, suffix: &str) -> String {
        self.0.iter().map(|c| format!("{}{suffix}", qi(c))).collect::<Vec<_>>().join(", ")
    }
    /// Whether the key is exactly this one column.
    fn is_only(&self, column: &str) -> bool {
        self.0.len() == 1 && self.0[0] == column
    }
}

impl From<&str> for Key {
    fn from(column: &str) -> Key {
        Key(vec![column.to_string()])
    }
}

/// The lock of a loop (or of the one statement, without a key to batch on).
fn rows_lock(pk: &Key) -> &'static str {
    if pk.is_empty() { "ROW EXCLUSIVE, row locks on every row it changes until it commits" } else { ROWS }
}

/// How a loop walks the table: `in batches keyed on id`, or in one statement when
/// the table has no single-column primary key (`pk` empty).
fn keyed_on(pk: &Key) -> String {
    if pk.is_empty() {
        "in one statement (it has no primary key to batch on)".to_string()
    } else {
        format!("in batches keyed on {}", pk.row(""))
    }
}

pub use crate::ir::copy_name;

/// A relation in the same schema as `table`.
fn sibling(table: &QName, name: &str) -> QName {
    QName { schema: table.schema.clone(), name: name.to_string() }
}

/// A SQL string literal.
fn lit(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn execute_function(pg: u32) -> &'static str {
    if pg >= 11 { "EXECUTE FUNCTION" } else { "EXECUTE PROCEDURE" }
}

/// `ALTER TABLE` statements with `SET lock_timeout` first.
fn with_lt(sql: &str) -> String {
    format!("{LT}\n{sql}")
}

// ---------------------------------------------------------------------------
// Batched loops
// ---------------------------------------------------------------------------

/// A primary-key-range batched UPDATE, one transaction per batch, for a target
/// PostgreSQL version.
pub fn batched_update_for(table: &QName, pk: &Key, set_sql: &str, extra_where: Option<&str>, pg: u32) -> String {
    batched(table, pk, &format!("UPDATE {table} SET {set_sql}"), extra_where, pg)
}

/// [`batched_update_for`] for a backfill that stands in for DDL (a type change's copy,
/// a default's fill): DDL fires no trigger, so each batch first turns the table's own
/// triggers off for itself (`session_replication_role = replica`, transaction-local):
/// an `updated_at` trigger must not stamp every row. Without the right to set it
/// (superuser, or `GRANT SET ON PARAMETER` on 15+), the batch says so in a NOTICE and
/// runs with the triggers. Only in the DO loops (a key, PostgreSQL 11+).
pub fn batched_update_without_triggers(
    table: &QName,
    pk: &Key,
    set_sql: &str,
    extra_where: Option<&str>,
    pg: u32,
) -> String {
    if pk.is_empty() || pg < 11 {
        return batched_update_for(table, pk, set_sql, extra_where, pg);
    }
    let head = format!(
        "BEGIN\n      PERFORM set_config('session_replication_role', 'replica', true);\n    \
         EXCEPTION WHEN insufficient_privilege THEN\n      \
         RAISE NOTICE 'cannot set session_replication_role: the triggers of % fire for this batch', {};\n    \
         END;\n    UPDATE {table} SET {set_sql}",
        lit(&table.to_string())
    );
    batched(table, pk, &head, extra_where, pg)
}

/// A primary-key-range batched DELETE.
pub fn batched_delete_for(table: &QName, pk: &Key, where_sql: Option<&str>, pg: u32) -> String {
    batched(table, pk, &format!("DELETE FROM {table}"), where_sql, pg)
}

/// Walks the primary key in key order (keyset: `ORDER BY key LIMIT`, never
/// `min()`/`max()`, which uuid and other types lack), `BATCH_SIZE` keys per
/// batch, so it works for any key type and any gaps; each batch commits
/// (PostgreSQL 11+ `DO` with `COMMIT`), then sleeps. The batch bounds are
/// `record` variables, so the key's type is never spelled out. Before 11 `DO`
/// cannot commit: a psql `\gexec` script runs each generated batch as its own
/// statement instead.
fn batched(table: &QName, pk: &Key, head: &str, extra_where: Option<&str>, pg: u32) -> String {
    let one_statement = |why: &str| {
        format!(
            "-- {table} {why}: one statement, one transaction\n\
             -- (its row locks are held until it commits)\n{head}{};",
            extra_where.map(|w| format!(" WHERE {w}")).unwrap_or_default()
        )
    };
    if pk.is_empty() {
        return one_statement("has no primary key to batch on");
    }
    if pk.0.len() > 1 {
        if pg < 11 {
            return one_statement(&format!("has a composite key and PostgreSQL {pg} cannot COMMIT inside DO"));
        }
        return keyset_loop(table, pk, head, extra_where);
    }
    let k = pk.row("");
    let cond = extra_where.map(|w| format!(" AND ({w})")).unwrap_or_default();
    if pg < 11 {
        let esc = |s: &str| s.replace('%', "%%");
        let stmt = format!(
            "{} WHERE {} >= %L AND {} <= %L{}",
            esc(head),
            esc(&format!("{table}.{k}")),
            esc(&format!("{table}.{k}")),
            esc(&cond)
        );
        let fmt = lit(&stmt);
        return format!(
            "-- PostgreSQL {pg} cannot COMMIT inside DO: this psql script runs each batch of {BATCH_SIZE} rows\n\
             -- (keyed on {k}) as its own transaction; run it with psql in autocommit mode\n\
             SELECT format({fmt}, (array_agg({k} ORDER BY {k}))[1], (array_agg({k} ORDER BY {k} DESC))[1]) AS batch,\n       \
             'SELECT pg_sleep(0.01)' AS pause\n  \
             FROM (SELECT {k}, (row_number() OVER (ORDER BY {k}) - 1) / {BATCH_SIZE} AS n FROM {table}) AS numbered\n \
             GROUP BY n ORDER BY n\n\\gexec"
        );
    }
    [
        format!(
            "-- one transaction per batch of {BATCH_SIZE} rows, keyed on {k}: run it with psql in autocommit mode,"
        ),
        "-- not inside BEGIN ... COMMIT (the COMMIT inside DO needs that)".to_string(),
        "DO $batch$".to_string(),
        "DECLARE".to_string(),
        "  batch_lo record;".to_string(),
        "  batch_hi record;".to_string(),
        "BEGIN".to_string(),
        format!("  SELECT {k} INTO batch_lo FROM {table} ORDER BY {k} LIMIT 1;"),
        "  WHILE FOUND LOOP".to_string(),
        format!("    SELECT {k} INTO batch_hi"),
        format!(
            "      FROM (SELECT {k} FROM {table} WHERE {k} >= batch_lo.{k} ORDER BY {k} LIMIT {BATCH_SIZE}) AS batch"
        ),
        format!("      ORDER BY {k} DESC LIMIT 1;"),
        format!("    {head}"),
        format!("      WHERE {table}.{k} >= batch_lo.{k} AND {table}.{k} <= batch_hi.{k}{cond};"),
        "    COMMIT;".to_string(),
        "    PERFORM pg_sleep(0.01);".to_string(),
        format!("    SELECT {k} INTO batch_lo FROM {table} WHERE {k} > batch_hi.{k} ORDER BY {k} LIMIT 1;"),
        "  END LOOP;".to_string(),
        "END".to_string(),
        "$batch$;".to_string(),
    ]
    .join("\n")
}

/// The DO loop of [`batched`] on a composite key: the same keyset walk with row
/// comparisons, `(a, b) >= (batch_lo.a, batch_lo.b)` (served by the key's index).
fn keyset_loop(table: &QName, pk: &Key, head: &str, extra_where: Option<&str>) -> String {
    let cond = extra_where.map(|w| format!(" AND ({w})")).unwrap_or_default();
    let (cols, asc, desc) = (pk.list(""), pk.list(""), pk.list(" DESC"));
    let (lo, hi, own) = (pk.row("batch_lo."), pk.row("batch_hi."), pk.row(""));
    let qualified = pk.row(&format!("{table}."));
    [
        format!(
            "-- one transaction per batch of {BATCH_SIZE} rows, keyed on {own}: run it with psql in autocommit mode,"
        ),
        "-- not inside BEGIN ... COMMIT (the COMMIT inside DO needs that)".to_string(),
        "DO $batch$".to_string(),
        "DECLARE".to_string(),
        "  batch_lo record;".to_string(),
        "  batch_hi record;".to_string(),
        "BEGIN".to_string(),
        format!("  SELECT {cols} INTO batch_lo FROM {table} ORDER BY {asc} LIMIT 1;"),
        "  WHILE FOUND LOOP".to_string(),
        format!("    SELECT {cols} INTO batch_hi"),
        format!(
            "      FROM (SELECT {cols} FROM {table} WHERE {own} >= {lo} ORDER BY {asc} LIMIT {BATCH_SIZE}) AS batch"
        ),
        format!("      ORDER BY {desc} LIMIT 1;"),
        format!("    {head}"),
        format!("      WHERE {qualified} >= {lo} AND {qualified} <= {hi}{cond};"),
        "    COMMIT;".to_string(),
        "    PERFORM pg_sleep(0.01);".to_string(),
        format!("    SELECT {cols} INTO batch_lo FROM {table} WHERE {own} > {hi} ORDER BY {asc} LIMIT 1;"),
        "  END LOOP;".to_string(),
        "END".to_string(),
        "$batch$;".to_string(),
    ]
    .join("\n")
}

// The expressions plans need (USING, DEFAULT, CHECK, each ALTER action, backup queries)
// come deparsed in the IR: this module never parses statement text.

// ---------------------------------------------------------------------------
// What the schema history knows about a column
// ---------------------------------------------------------------------------

/// An index on the column, to be re-created on the new column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexCopy {
    /// The index name (for a constraint's index: the constraint name, as PostgreSQL names it).
    pub name: String,
    pub columns: Vec<String>,
    pub unique: bool,
    /// The PRIMARY KEY or UNIQUE constraint the index backs.
    pub constraint: Option<(String, ConstraintKind)>,
    /// That constraint's ` DEFERRABLE [INITIALLY DEFERRED]` (empty when immediate).
    pub deferral: &'static str,
    /// That constraint's INCLUDE columns and NULLS NOT DISTINCT (its index has no
    /// CREATE INDEX of its own to copy).
    pub include: Vec<String>,
    pub nulls_not_distinct: bool,
    /// The index's copy on the column's copy (`copy_name`), its whole definition, from
    /// the IR (`CreateIndex::copies`); None when the history has no exact statement.
    pub copy_sql: Option<String>,
}

impl IndexCopy {
    /// Whether its key is plain columns that include the copied one: the copy can be
    /// built from the column list alone.
    fn plain_on(&self, column: &str) -> bool {
        self.columns.iter().chain(&self.include).any(|c| c == column)
            && self.columns.iter().all(|c| c != "(expression)")
    }
}

/// A foreign key of another table (or of the same one) on a key of the copied column.
#[derive(Debug, Clone)]
pub struct ReferencingFk {
    pub table: String,
    pub name: String,
    pub columns: Vec<String>,
    pub fk: crate::ir::ForeignKeyRef,
    pub validated: bool,
}

/// What the plan knows about a column that is copied (type change, rename).
#[derive(Debug, Clone, Default)]
pub struct ColumnInfo {
    /// Earlier migrations define the column (else NOT NULL, indexes and constraints are unknown).
    pub known: bool,
    /// The column's type as written, when earlier migrations say.
    pub col_type: Option<String>,
    /// serial/identity column: its DEFAULT comes from a sequence.
    pub serial: bool,
    /// An identity column (its sequence cannot change owner).
    pub identity: bool,
    pub not_null: bool,
    pub indexes: Vec<IndexCopy>,
    /// The column's DEFAULT expression, when the history knows it.
    pub default: Option<String>,
    /// Single-column foreign keys on the column, with their definitions: re-created on the copy.
    pub foreign_keys: Vec<(String, crate::ir::ForeignKeyRef)>,
    /// CHECK / EXCLUDE constraints and other foreign keys on the column (definitions not in the history).
    pub other_constraints: Vec<String>,
    /// CHECKs on the column whose expressions the history knows: (name, expression,
    /// validated). A type change re-adds them in the swap, after DROP COLUMN dropped them.
    pub checks: Vec<(String, String, bool)>,
    /// Tables with a foreign key to this table, when the column is in a key they may reference.
    pub referenced_by: Vec<String>,
    /// The foreign keys of the history that reference a key the column is in (they
    /// depend on its index): dropped and re-added in the swap, against the new key.
    pub referencing_fks: Vec<ReferencingFk>,
    /// Views that read the table.
    pub views: Vec<String>,
    /// The table's own triggers, as far as the history knows them.
    pub triggers: Vec<String>,
    /// Single-column primary key used for batches (`id` when unknown).
    pub pk: Key,
    pub pg_version: u32,
    /// `USING` expression of a type change.
    pub using: Option<String>,
    /// `COLLATE` of a type change.
    pub collation: Option<String>,
}

impl ColumnInfo {
    pub fn from_schema(schema: &Schema, table: &str, column: &str, pg_version: u32) -> ColumnInfo {
        let t = schema.table(table);
        let col = t.and_then(|t| t.column(column));
        let mut indexes = Vec::new();
        for i in schema.indexes_reading(table, column) {
            let constraint = t.and_then(|t| {
                t.constraints.iter().find(|k| {
                    k.index.as_deref() == Some(i.name.as_str())
                        && matches!(k.kind, ConstraintKind::PrimaryKey | ConstraintKind::Unique)
                })
            });
            indexes.push(IndexCopy {
                name: constraint.map(|k| k.name.clone()).unwrap_or_else(|| i.name.clone()),
                columns: i.columns.clone(),
                unique: i.unique,
                constraint: constraint.map(|k| (k.name.clone(), k.kind)),
                deferral: constraint.map_or("", |k| deferral(k.deferrable, k.initially_deferred)),
                include: i.include.clone(),
                nulls_not_distinct: i.nulls_not_distinct,
                copy_sql: i.copies.get(column),
            });
        }
        let on_column: Vec<&crate::schema::Constraint> = t
            .map(|t| {
                t.constraints
                    .iter()
                    .filter(|k| {
                        matches!(k.kind, ConstraintKind::Check | ConstraintKind::ForeignKey | ConstraintKind::Exclude)
                            && k.not_null_check_of.is_none()
                            && k.columns.iter().any(|c| c == column)
                    })
                    .collect()
            })
            .unwrap_or_default();
        let copied_fk = |k: &crate::schema::Constraint| k.fk.clone().filter(|_| k.columns.len() == 1);
        let foreign_keys = on_column.iter().filter_map(|k| Some((k.name.clone(), copied_fk(k)?))).collect();
        let check_sql = |k: &crate::schema::Constraint| {
            k.check_sql.as_deref().filter(|_| k.kind == ConstraintKind::Check).map(str::to_string)
        };
        let checks = on_column.iter().filter_map(|k| Some((k.name.clone(), check_sql(k)?, k.validated))).collect();
        let other_constraints = on_column
            .iter()
            .filter(|k| copied_fk(k).is_none() && check_sql(k).is_none())
            .map(|k| k.name.clone())
            .collect();
        let keyed = indexes.iter().any(|i| i.constraint.is_some());
        let referenced_by =
            if keyed { schema.referencing(table).into_iter().map(str::to_string).collect() } else { Vec::new() };
        let mut referencing_fks: Vec<ReferencingFk> = Vec::new();
        let keys = t.map(|t| {
            t.constraints.iter().filter(|k| {
                matches!(k.kind, ConstraintKind::PrimaryKey | ConstraintKind::Unique)
                    && k.columns.iter().any(|c| c == column)
            })
        });
        for key in keys.into_iter().flatten() {
            for (rt, name) in schema.foreign_keys_on(table, key) {
                let k = schema.table(&rt).and_then(|r| r.constraint(&name));
                if let Some((k, fk)) = k.and_then(|k| Some((k, k.fk.clone()?)))
                    && !referencing_fks.iter().any(|f| f.table == rt && f.name == name)
                {
                    referencing_fks.push(ReferencingFk {
                        table: rt.clone(),
                        name: name.clone(),
                        columns: k.columns.clone(),
                        fk,
                        validated: k.validated,
                    });
                }
            }
        }
        let triggers = table_triggers(schema, table);
        let mut views: Vec<String> =
            schema.views.iter().filter(|(_, reads)| reads.iter().any(|r| r == table)).map(|(v, _)| v.clone()).collect();
        views.sort();
        ColumnInfo {
            known: col.is_some(),
            col_type: col.map(|c| crate::ir::TypeRef::without_serial(&c.type_ref)),
            serial: col.is_some_and(|c| c.from_sequence()),
            identity: col.is_some_and(|c| c.identity),
            // An identity column is NOT NULL (PostgreSQL adds it), and so must its copy be.
            not_null: col.is_some_and(|c| c.not_null || c.identity),
            default: col.and_then(|c| c.stored_default()),
            indexes,
            foreign_keys,
            other_constraints,
            checks,
            referenced_by,
            referencing_fks,
            views,
            triggers,
            pk: pk_of(schema, table),
            pg_version,
            using: None,
            collation: None,
        }
    }
}

// ---------------------------------------------------------------------------
// NOT NULL the safe way
// ---------------------------------------------------------------------------

fn nn_check_name(table: &QName, column: &str) -> String {
    format!("{}_{}_nn_check", table.name, column)
}

/// `CHECK (col IS NOT NULL) NOT VALID`: brief ACCESS EXCLUSIVE, no scan.
fn nn_check_step(table: &QName, column: &str, stage: Stage) -> PlanStep {
    let c = qi(column);
    let chk = qi(&nn_check_name(table, column));
    PlanStep::new(
        stage,
        format!(
            "add CHECK ({c} IS NOT NULL) NOT VALID on {table}: no scan; from now on new and updated rows are checked"
        ),
        with_lt(&format!("ALTER TABLE {table} ADD CONSTRAINT {chk} CHECK ({c} IS NOT NULL) NOT VALID;")),
    )
    .lock(AE_BRIEF)
}

/// `VALIDATE CONSTRAINT` of the NOT NULL check, in its own transaction.
fn nn_validate_step(table: &QName, column: &str, stage: Stage) -> PlanStep {
    let chk = qi(&nn_check_name(table, column));
    PlanStep::new(
        stage,
        format!("validate {chk} in its own transaction: it scans {table}, but reads and writes continue"),
        format!("ALTER TABLE {table} VALIDATE CONSTRAINT {chk};"),
    )
    .lock(SUE)
}

/// SET NOT NULL (PG 12+: proven by the validated check, no scan) and drop the check.
fn nn_set_step(table: &QName, column: &str, pg: u32, stage: Stage) -> PlanStep {
    let c = qi(column);
    if pg < 12 {
        return PlanStep::new(
            stage,
            format!(
                "set {table}.{c} NOT NULL: before PostgreSQL 12 this always scans the table under ACCESS EXCLUSIVE \
                 (target: {pg}), so run it in a quiet window, or keep a validated CHECK ({c} IS NOT NULL) instead"
            ),
            with_lt(&format!("ALTER TABLE {table} ALTER COLUMN {c} SET NOT NULL;")),
        )
        .lock("ACCESS EXCLUSIVE for a full scan (reads and writes wait)");
    }
    let chk = qi(&nn_check_name(table, column));
    PlanStep::new(
        stage,
        format!("set {table}.{c} NOT NULL (the validated check proves it: no scan) and drop the helper check"),
        with_lt(&format!(
            "ALTER TABLE {table} ALTER COLUMN {c} SET NOT NULL;\nALTER TABLE {table} DROP CONSTRAINT {chk};"
        )),
    )
    .lock(AE_BRIEF)
}

/// CHECK NOT VALID → VALIDATE → SET NOT NULL → drop the check (PG 12+), all in one stage.
pub fn not_null_steps(table: &QName, column: &str, pg_version: u32, stage: Stage) -> Vec<PlanStep> {
    if pg_version < 12 {
        return vec![nn_set_step(table, column, pg_version, stage)];
    }
    vec![
        nn_check_step(table, column, stage),
        nn_validate_step(table, column, stage),
        nn_set_step(table, column, pg_version, stage),
    ]
}

/// Counts the NULLs left and says how to fill them when the migration gives no value.
fn fill_unknown_steps(table: &QName, column: &str, pk: &Key, stage: Stage, why: &str) -> Vec<PlanStep> {
    let c = qi(column);
    vec![
        PlanStep::new(
            stage,
            format!("count the rows of {table} where {c} is still NULL"),
            format!("SELECT count(*) AS null_rows FROM {table} WHERE {c} IS NULL;"),
        )
        .lock(READS),
        PlanStep::new(
            stage,
            format!(
                "fill those NULLs in batches keyed on {} ({why}): one transaction per batch, \
                 `WHERE {c} IS NULL` in each, like the batched loops migrade prints for data migrations",
                pk.row("")
            ),
            "",
        ),
    ]
}

/// `ALTER TABLE t ADD COLUMN c ... DEFAULT d` followed, with nothing else on `t` in
/// between, by `UPDATE t SET c = <constant>` (every row): on PostgreSQL 11+ both are
/// catalog-only as `ADD COLUMN c ... DEFAULT <constant>` then `SET DEFAULT d` (or DROP
/// DEFAULT): no rewrite, no backfill, and nothing written after the deploy is
/// overwritten. Stands in for the ADD COLUMN statement `added_at`.
pub fn add_column_with_value(
    table: &QName,
    column: &crate::ir::ColumnSpec,
    value: &str,
    added_at: usize,
) -> Vec<PlanStep> {
    let c = qi(&column.name);
    let not_null = if column.not_null { " NOT NULL" } else { "" };
    let collate = column.collation.as_ref().map(|x| format!(" COLLATE {}", qi(x))).unwrap_or_default();
    let then = match column.default_sql.as_deref() {
        Some(d) if d == value => String::new(),
        Some(d) => format!("\nALTER TABLE {table} ALTER COLUMN {c} SET DEFAULT {d};"),
        None => format!("\nALTER TABLE {table} ALTER COLUMN {c} DROP DEFAULT;"),
    };
    vec![
        PlanStep::new(
            Stage::Expand,
            format!(
                "add {table}.{c} with the UPDATE's value, {value}, as its default, then give new rows the file's own default: both catalog-only (PostgreSQL 11+), no rewrite and no backfill, so no row written after the deploy is overwritten (replaces the file's ADD COLUMN and its UPDATE)"
            ),
            with_lt(&format!(
                "ALTER TABLE {table} ADD COLUMN {c} {}{collate}{not_null} DEFAULT {value};{then}",
                column.type_ref.display
            )),
        )
        .lock(AE_BRIEF)
        .replacing(added_at),
    ]
}

/// `ADD COLUMN` of the column without its inline UNIQUE / PRIMARY KEY (the key is built
/// concurrently next): type, collation, DEFAULT and NOT NULL as written; its inline
/// CHECKs and foreign key are [`column_constraint_steps`] (NOT VALID, then validated: an
/// inline one is checked against every row under ACCESS EXCLUSIVE).
pub fn add_plain_column(table: &QName, column: &crate::ir::ColumnSpec) -> Vec<PlanStep> {
    let c = qi(&column.name);
    let mut def = column.type_ref.display.clone();
    if let Some(x) = &column.collation {
        def.push_str(&format!(" COLLATE {}", qi(x)));
    }
    if let Some(d) = column.default_sql.as_deref() {
        def.push_str(&format!(" DEFAULT {d}"));
    }
    // A primary key's column without a value is made NOT NULL by the key's plan
    // ([`add_column_key`]: CHECK NOT VALID, VALIDATE, SET NOT NULL).
    let valueless = column.default_sql.is_none() && !column.identity && !column.type_ref.is_serial();
    if column.not_null && !(column.primary_key && valueless) {
        def.push_str(" NOT NULL");
    }
    vec![
        PlanStep::new(
            Stage::Expand,
            format!("add {table}.{c} without its inline key: catalog only"),
            with_lt(&format!("ALTER TABLE {table} ADD COLUMN {c} {def};")),
        )
        .lock(AE_BRIEF),
    ]
}

/// Fills a column's NULLs with `value` in batches (`WHERE col IS NULL` in each).
fn fill_nulls_step(table: &QName, column: &str, value: &str, pk: &Key, title: String, pg: u32) -> PlanStep {
    let c = qi(column);
    PlanStep::new(
        Stage::Backfill,
        title,
        batched_update_for(table, pk, &format!("{c} = {value}"), Some(&format!("{c} IS NULL")), pg),
    )
    .lock(rows_lock(pk))
    .no_transaction()
}

/// SET NOT NULL without the scan under ACCESS EXCLUSIVE. `fill` is the expression an
/// earlier UPDATE of the same file filled the column with: the rows written between
/// that backfill and the check get it too.
pub fn set_not_null(table: &QName, column: &str, pk: &Key, fill: Option<&str>, pg_version: u32) -> Vec<PlanStep> {
    let c = qi(column);
    let mut steps = vec![PlanStep::new(
        Stage::Deploy,
        format!("deploy code that never writes NULL into {table}.{c} (the check added next rejects NULLs)"),
        "",
    )];
    if pg_version >= 12 {
        steps.push(nn_check_step(table, column, Stage::Backfill));
    }
    match fill {
        Some(v) => steps.push(fill_nulls_step(
            table,
            column,
            v,
            pk,
            format!(
                "fill the NULLs still in {table}.{c} (rows written since the file's own backfill) with the file's expression, {v}, {}",
                keyed_on(pk)
            ),
            pg_version,
        )),
        _ => steps.extend(fill_unknown_steps(
            table,
            column,
            pk,
            Stage::Backfill,
            "the migration does not say with what value; VALIDATE and SET NOT NULL fail while any NULL remains",
        )),
    }
    if pg_version >= 12 {
        steps.push(nn_validate_step(table, column, Stage::Backfill));
    }
    steps.push(nn_set_step(table, column, pg_version, Stage::Contract));
    steps
}

/// A NOT NULL column added to a table with rows: nullable first, filled, then enforced.
/// `fill_sql` is the value for the existing rows, when the migration gives one.
pub fn add_not_null_column(
    table: &QName,
    column: &str,
    col_type: &str,
    fill_sql: Option<&str>,
    pk: &Key,
    pg_version: u32,
) -> Vec<PlanStep> {
    let c = qi(column);
    let mut steps = vec![
        PlanStep::new(
            Stage::Expand,
            format!("add {table}.{c} as a nullable column"),
            with_lt(&format!("ALTER TABLE {table} ADD COLUMN {c} {col_type};")),
        )
        .lock(AE_BRIEF),
        PlanStep::new(Stage::Deploy, format!("deploy code that writes {c} on every INSERT (never NULL)"), ""),
    ];
    if pg_version >= 12 {
        steps.push(nn_check_step(table, column, Stage::Backfill));
    }
    match fill_sql {
        Some(v) => steps.push(fill_nulls_step(
            table,
            column,
            v,
            pk,
            format!("fill {c} for the existing rows of {table} {}", keyed_on(pk)),
            pg_version,
        )),
        None => steps.extend(fill_unknown_steps(
            table,
            column,
            pk,
            Stage::Backfill,
            &format!(
                "the migration gives no value for the existing rows; when one constant fits them all, \
                 `ADD COLUMN {c} {col_type} NOT NULL DEFAULT <constant>` then `ALTER COLUMN {c} DROP DEFAULT` \
                 is catalog-only on PostgreSQL 11+ and replaces this whole plan"
            ),
        )),
    }
    if pg_version >= 12 {
        steps.push(nn_validate_step(table, column, Stage::Backfill));
    }
    steps.push(nn_set_step(table, column, pg_version, Stage::Contract));
    steps
}

/// The triggers the history knows on `table`, sorted.
pub fn table_triggers(schema: &Schema, table: &str) -> Vec<String> {
    let prefix = crate::schema::trigger_key(table, "");
    let mut triggers: Vec<String> =
        schema.triggers.iter().filter_map(|k| k.strip_prefix(prefix.as_str()).map(str::to_string)).collect();
    triggers.sort();
    triggers
}

/// `; the triggers of t (a, b) do not fire for it, …` when a backfill that stands in for
/// DDL runs without `triggers` ([`batched_update_without_triggers`] can: a key, 11+).
fn quiet_note(table: &QName, triggers: &[String], pk: &Key, pg: u32) -> Option<String> {
    (!triggers.is_empty() && !pk.is_empty() && pg >= 11).then(|| {
        format!(
            "; the triggers of {table} ({}) do not fire for it, as they do not for the file's statement",
            triggers.iter().map(|t| qi(t)).collect::<Vec<_>>().join(", ")
        )
    })
}

/// The name PostgreSQL gives a new column's inline UNIQUE (`t_c_key`) or PRIMARY KEY
/// (`t_pkey`).
pub fn column_key_name(table: &QName, column: &crate::ir::ColumnSpec) -> String {
    if column.primary_key {
        crate::ir::object_name(&table.name, None, "pkey")
    } else {
        crate::ir::object_name(&table.name, Some(&column.name), "key")
    }
}

/// A serial column's sequence, as PostgreSQL makes it for `ADD COLUMN c serial`: named
/// `t_c_seq`, of the column's integer type, the column's default for new rows, and owned
/// by the column (dropped with it). Catalog only.
fn serial_default_step(table: &QName, column: &crate::ir::ColumnSpec, pg: u32) -> PlanStep {
    let c = qi(&column.name);
    let seq = sibling(table, &crate::ir::object_name(&table.name, Some(&column.name), "seq"));
    // `AS type` is PostgreSQL 10+; before, every sequence is bigint.
    let ty = if pg >= 10 { format!(" AS {}", column.type_ref.without_serial()) } else { String::new() };
    PlanStep::new(
        Stage::Expand,
        format!(
            "create the sequence {seq} of {table}.{c} ({}), owned by the column, and make it the default for new rows only",
            column.type_ref.name
        ),
        with_lt(&format!(
            "CREATE SEQUENCE {seq}{ty};\n\
             ALTER TABLE {table} ALTER COLUMN {c} SET DEFAULT nextval({}::regclass);\n\
             ALTER SEQUENCE {seq} OWNED BY {table}.{c};",
            lit(&seq.to_string())
        )),
    )
    .lock(AE_BRIEF)
}

/// The sequence an identity column is filled from until it is made the identity column
/// ([`identity_step`]): `t_c_seq_fill`, so PostgreSQL's own `t_c_seq` is free for it.
fn identity_fill_sequence(table: &QName, column: &crate::ir::ColumnSpec) -> QName {
    sibling(table, &crate::ir::object_name(&table.name, Some(&column.name), "seq_fill"))
}

/// An identity column, added plain: its values for new rows and for the fill come from
/// a sequence of its own, owned by the column, until [`identity_step`].
fn identity_fill_step(table: &QName, column: &crate::ir::ColumnSpec) -> PlanStep {
    let c = qi(&column.name);
    let seq = identity_fill_sequence(table, column);
    PlanStep::new(
        Stage::Expand,
        format!(
            "create the sequence {seq}, owned by {table}.{c}, and make it the default for new rows only: it numbers \
             the rows until {c} becomes the identity column"
        ),
        with_lt(&format!(
            "CREATE SEQUENCE {seq} AS {}{};\n\
             ALTER TABLE {table} ALTER COLUMN {c} SET DEFAULT nextval({}::regclass);\n\
             ALTER SEQUENCE {seq} OWNED BY {table}.{c};",
            column.type_ref.display,
            fill_sequence_options(column),
            lit(&seq.to_string())
        )),
    )
    .lock(AE_BRIEF)
}

/// The identity's sequence options a fill sequence takes (` START WITH 100 INCREMENT BY
/// 5`, `RESTART WITH 50`), so the filled values are those the identity would have given:
/// all but its name, its type (the column's), its owner (the fill step's own OWNED BY)
/// and LOGGED / UNLOGGED (CREATE SEQUENCE refuses them as options, PostgreSQL 15; the
/// identity step gives them to the identity's sequence).
fn fill_sequence_options(column: &crate::ir::ColumnSpec) -> String {
    let options = column.identity_options.iter().flatten();
    let kept = |o: &&String| {
        !["SEQUENCE NAME ", "AS ", "OWNED BY "].iter().any(|p| o.starts_with(p))
            && !matches!(o.as_str(), "LOGGED" | "UNLOGGED")
    };
    options.filter(kept).map(|o| format!(" {o}")).collect()
}

/// The filled, NOT NULL column becomes the identity column, as the file declares it
/// (ALWAYS or BY DEFAULT): its sequence (PostgreSQL's name) continues where the fill's
/// left off, and the fill's is dropped (first released by the column, or
/// `pg_get_serial_sequence` would still find it). Catalog only, in one transaction.
fn identity_step(table: &QName, column: &crate::ir::ColumnSpec) -> PlanStep {
    let c = qi(&column.name);
    let seq = identity_fill_sequence(table, column);
    let kind = if column.identity_always { "ALWAYS" } else { "BY DEFAULT" };
    let options = match &column.identity_options {
        Some(o) if !o.is_empty() => format!(" ({})", o.join(" ")),
        _ => String::new(),
    };
    let unread = if column.identity_options.is_none() {
        " (the file's sequence options are not understood: give the sequence them with ALTER SEQUENCE)"
    } else {
        ""
    };
    PlanStep::new(
        Stage::Contract,
        format!(
            "make {table}.{c} the identity column (GENERATED {kind}), its sequence continuing after the filled \
             values, and drop {seq}: catalog only{unread}"
        ),
        with_lt(&format!(
            "ALTER TABLE {table} ALTER COLUMN {c} DROP DEFAULT;\n\
             ALTER SEQUENCE {seq} OWNED BY NONE;\n\
             ALTER TABLE {table} ALTER COLUMN {c} ADD GENERATED {kind} AS IDENTITY{options};\n\
             SELECT setval(pg_get_serial_sequence({}, {}), nextval({}::regclass), false);\n\
             DROP SEQUENCE {seq};",
            lit(&table.to_string()),
            lit(&column.name),
            lit(&seq.to_string())
        )),
    )
    .lock(AE_BRIEF)
}

/// A column whose value would be evaluated for every existing row (a volatile default,
/// or any default before PostgreSQL 11): the whole replacement of its `ADD COLUMN`.
/// Added once, with its type only (and its collation); the default set for new rows
/// only; the existing rows filled with `DEFAULT` in batches; then NOT NULL the safe
/// way; then its inline UNIQUE / PRIMARY KEY from an index built concurrently after the
/// fill (a primary key attached once the column is NOT NULL). The expression is the
/// IR's `ColumnSpec::default_sql`; without it the SET DEFAULT step is an instruction.
/// `triggers`: the table's own triggers; ADD COLUMN fires none, so neither does the
/// fill (an `updated_at` trigger would stamp every row).
pub fn add_column_filled(
    schema: &Schema,
    table: &QName,
    column: &crate::ir::ColumnSpec,
    pk: &Key,
    triggers: &[String],
    pg_version: u32,
) -> Vec<PlanStep> {
    let c = qi(&column.name);
    // serial, bigserial and identity columns are NOT NULL too.
    let not_null = column.not_null || column.primary_key || column.type_ref.is_serial() || column.identity;
    let mut def = column.type_ref.without_serial();
    if let Some(x) = &column.collation {
        def.push_str(&format!(" COLLATE {}", qi(x)));
    }
    let mut steps = vec![
        PlanStep::new(
            Stage::Expand,
            format!("add {table}.{c} with no default and nullable: catalog only"),
            with_lt(&format!("ALTER TABLE {table} ADD COLUMN {c} {def};")),
        )
        .lock(AE_BRIEF),
        match column.default_sql.as_deref() {
            _ if column.type_ref.is_serial() => serial_default_step(table, column, pg_version),
            _ if column.identity => identity_fill_step(table, column),
            Some(d) => PlanStep::new(
                Stage::Expand,
                format!("set the default of {c} for new rows only"),
                with_lt(&format!("ALTER TABLE {table} ALTER COLUMN {c} SET DEFAULT {d};")),
            )
            .lock(AE_BRIEF),
            None => PlanStep::new(
                Stage::Expand,
                format!(
                    "set the default of {c} for new rows only: ALTER TABLE {table} ALTER COLUMN {c} SET DEFAULT, with the migration's expression"
                ),
                "",
            ),
        },
    ];
    // The inline CHECKs and REFERENCES the type-only ADD COLUMN leaves out: NOT VALID now
    // (no scan; new and updated rows, the fill's too, are checked), validated last.
    let (added, validations) = column_constraint_steps(schema, table, column);
    steps.extend(added);
    if not_null && pg_version >= 12 {
        steps.push(nn_check_step(table, &column.name, Stage::Backfill));
    }
    let quiet = quiet_note(table, triggers, pk, pg_version);
    let (set, cond) = (format!("{c} = DEFAULT"), format!("{c} IS NULL"));
    steps.push(
        PlanStep::new(
            Stage::Backfill,
            format!(
                "fill {c} for the existing rows with its default, {}{}",
                keyed_on(pk),
                quiet.as_deref().unwrap_or("")
            ),
            if quiet.is_some() {
                batched_update_without_triggers(table, pk, &set, Some(&cond), pg_version)
            } else {
                batched_update_for(table, pk, &set, Some(&cond), pg_version)
            },
        )
        .lock(rows_lock(pk))
        .no_transaction(),
    );
    if not_null {
        if pg_version >= 12 {
            steps.push(nn_validate_step(table, &column.name, Stage::Backfill));
        }
        steps.push(nn_set_step(table, &column.name, pg_version, Stage::Contract));
    }
    if column.identity {
        steps.push(identity_step(table, column));
    }
    if column.unique || column.primary_key {
        // After the fill: a primary key once the column is NOT NULL (contract), a
        // unique key as soon as every row has its value (backfill).
        let stage = if column.primary_key { Stage::Contract } else { Stage::Backfill };
        let mut key = add_column_key(table, &column_key_name(table, column), column, &[], pg_version);
        for s in &mut key {
            s.stage = stage;
        }
        steps.extend(key);
    }
    steps.extend(validations);
    steps
}

/// A new column's inline CHECKs and REFERENCES, which a plan's `ADD COLUMN` leaves out:
/// the `ADD CONSTRAINT … NOT VALID` steps (expand: no scan; new and updated rows are
/// checked from then on) and, apart, their `VALIDATE CONSTRAINT` steps (contract).
/// `schema`: the history before the statement (the CHECKs' names are PostgreSQL's first
/// free ones).
pub fn column_constraint_steps(
    schema: &Schema,
    table: &QName,
    column: &crate::ir::ColumnSpec,
) -> (Vec<PlanStep>, Vec<PlanStep>) {
    let (mut added, mut validations) = (Vec::new(), Vec::new());
    for (name, spec) in column_constraints(schema, table, column) {
        let mut steps = constraint_not_valid(table, &spec, &name, None);
        validations.extend(steps.pop());
        added.extend(steps);
    }
    (added, validations)
}

/// A new column's inline CHECKs and REFERENCES as table constraints, under the names
/// PostgreSQL gives them (`t_c_check`, `t_c_check1`, …, `t_c_fkey`, `t_c_fkey1`, … past
/// the names `schema` holds) unless the file names them.
fn column_constraints(
    schema: &Schema,
    table: &QName,
    column: &crate::ir::ColumnSpec,
) -> Vec<(String, crate::ir::ConstraintSpec)> {
    use crate::ir::ConstraintSpec;
    let mut out = Vec::new();
    for (name, check) in crate::schema::column_checks(schema, &table.name, column) {
        let mut spec = ConstraintSpec::for_column(ConstraintKind::Check, &column.name, None);
        spec.columns = check.columns.clone();
        spec.expr_sql = check.expr_sql.as_deref().map(str::to_string);
        out.push((name, spec));
    }
    if let Some(r) = &column.references {
        let spec = ConstraintSpec::for_column(ConstraintKind::ForeignKey, &column.name, Some(r.clone()));
        let name =
            column.references_name.clone().unwrap_or_else(|| schema.new_constraint_name(&table.name, &spec, &[], &[]));
        out.push((name, spec));
    }
    out
}

// ---------------------------------------------------------------------------
// Copying a column: type change, rename
// ---------------------------------------------------------------------------

/// How the copy is used.
enum Copy<'a> {
    /// Type change: `tmp` gets the new type; the swap renames it to the old name.
    Retype { new_type: &'a str },
    /// Rename: the copy already has the final name; both are kept in sync both ways.
    Rename,
}

/// One column copy being planned: the names its steps share.
struct ColumnCopy<'a> {
    table: &'a QName,
    old: &'a str,
    tmp: &'a str,
    kind: Copy<'a>,
    info: &'a ColumnInfo,
    /// `old` and `tmp`, quoted.
    c: String,
    n: String,
    /// The sync trigger's function and the trigger's name.
    fname: QName,
    trg: String,
}

fn copy_column(table: &QName, old: &str, tmp: &str, kind: Copy, info: &ColumnInfo) -> Vec<PlanStep> {
    let cp = ColumnCopy {
        table,
        old,
        tmp,
        kind,
        info,
        c: qi(old),
        n: qi(tmp),
        fname: sibling(table, &format!("{}_{}_sync", table.name, tmp)),
        trg: qi(&format!("{}_{}_sync", table.name, tmp)),
    };
    let (built, unbuilt) = cp.split_indexes();
    let mut steps = cp.expand_steps();
    steps.push(cp.backfill_step());
    steps.extend(cp.index_steps(&built, &unbuilt));
    steps.extend(cp.constraint_steps());
    steps.extend(cp.contract_steps(&built));
    steps
}

impl<'a> ColumnCopy<'a> {
    /// Expand: the new column, its default, the trigger that keeps it in sync, and
    /// (type change) the deploy of code that accepts the new type.
    fn expand_steps(&self) -> Vec<PlanStep> {
        let mut steps = vec![self.add_step()];
        steps.extend(self.default_step());
        steps.push(self.sync_step());
        if let Copy::Retype { new_type } = self.kind {
            let c = &self.c;
            steps.push(PlanStep::new(
                Stage::Deploy,
                format!(
                    "deploy code that accepts {c} as {new_type}; it keeps writing values the old type can hold until the swap"
                ),
                "",
            ));
        }
        steps
    }

    fn add_step(&self) -> PlanStep {
        let (table, c, n) = (self.table, &self.c, &self.n);
        let add = match (&self.kind, &self.info.col_type) {
            (Copy::Retype { new_type }, _) => {
                let coll = self.info.collation.as_deref().map(|c| format!(" COLLATE {}", qi(c))).unwrap_or_default();
                with_lt(&format!("ALTER TABLE {table} ADD COLUMN {n} {new_type}{coll};"))
            }
            (Copy::Rename, Some(ty)) => with_lt(&format!("ALTER TABLE {table} ADD COLUMN {n} {ty};")),
            (Copy::Rename, None) => {
                // The type is not in the history: read it from the catalog.
                let rel = lit(&table.to_string());
                format!(
                    "{LT}\nDO $add$\nBEGIN\n  EXECUTE format('ALTER TABLE %s ADD COLUMN %I %s', {rel}::regclass, {}, \
                     (SELECT format_type(atttypid, atttypmod) FROM pg_attribute\n    \
                     WHERE attrelid = {rel}::regclass AND attname = {} AND NOT attisdropped));\nEND\n$add$;",
                    lit(self.tmp),
                    lit(self.old)
                )
            }
        };
        let what = match self.kind {
            Copy::Retype { new_type } => format!("with type {new_type}"),
            Copy::Rename => format!("with the type of {c}"),
        };
        PlanStep::new(Stage::Expand, format!("add {table}.{n} {what}, nullable (NOT NULL comes later)"), add)
            .lock(AE_BRIEF)
    }

    /// The copy's DEFAULT (or what to do about it); a serial's comes with its sequence in the swap.
    fn default_step(&self) -> Option<PlanStep> {
        let (table, c, n, info) = (self.table, &self.c, &self.n, self.info);
        if info.serial {
            // The swap gives the copy the column's default and its sequence (serial), or
            // makes it the identity column with the sequence's name, options and value.
            None
        } else if let Some(d) = &info.default {
            Some(
                PlanStep::new(Stage::Expand, format!("give {n} the DEFAULT of {c}"), {
                    with_lt(&format!("ALTER TABLE {table} ALTER COLUMN {n} SET DEFAULT {d};"))
                })
                .lock(AE_BRIEF),
            )
        } else if !info.known {
            Some(PlanStep::new(
                Stage::Expand,
                format!(
                    "if {c} has a DEFAULT or is an identity column, give {n} the same DEFAULT now \
                     (ALTER TABLE {table} ALTER COLUMN {n} SET DEFAULT ...): earlier migrations do not define {c}"
                ),
                "",
            ))
        } else {
            None
        }
    }

    /// The trigger function and the trigger that mirror writes into the copy.
    fn sync_step(&self) -> PlanStep {
        let (table, c, n, fname, trg) = (self.table, &self.c, &self.n, &self.fname, &self.trg);
        let (body, events) = match &self.kind {
            Copy::Retype { .. } => {
                let expr = match &self.info.using {
                    Some(u) => format!("(SELECT {u} FROM (SELECT NEW.*) AS {})", qi(&table.name)),
                    None => format!("NEW.{c}"),
                };
                (format!("  NEW.{n} := {expr};\n"), format!("INSERT OR UPDATE OF {c}"))
            }
            Copy::Rename => (
                format!(
                    "  IF TG_OP = 'INSERT' THEN\n    \
                     IF NEW.{n} IS NULL THEN NEW.{n} := NEW.{c}; ELSIF NEW.{c} IS NULL THEN NEW.{c} := NEW.{n}; END IF;\n  \
                     ELSIF NEW.{c} IS DISTINCT FROM OLD.{c} THEN\n    NEW.{n} := NEW.{c};\n  \
                     ELSIF NEW.{n} IS DISTINCT FROM OLD.{n} THEN\n    NEW.{c} := NEW.{n};\n  END IF;\n"
                ),
                format!("INSERT OR UPDATE OF {c}, {n}"),
            ),
        };
        let sync_what = match self.kind {
            Copy::Retype { .. } => format!("mirror every write of {c} into {n}, so old code needs no change"),
            Copy::Rename => format!("keep {c} and {n} in sync both ways, so old and new code can run side by side"),
        };
        PlanStep::new(
            Stage::Expand,
            sync_what,
            format!(
                "CREATE FUNCTION {fname}() RETURNS trigger LANGUAGE plpgsql AS $sync$\nBEGIN\n{body}  RETURN NEW;\nEND\n$sync$;\n\
                 {LT}\nCREATE TRIGGER {trg} BEFORE {events} ON {table}\n  FOR EACH ROW {} {fname}();",
                execute_function(self.info.pg_version)
            ),
        )
        .lock("SHARE ROW EXCLUSIVE (brief: blocks writes while it waits)")
    }

    /// Backfill: copy the values of the existing rows, in batches, without firing the
    /// table's triggers when the history knows of some (as the file's statement fires none).
    fn backfill_step(&self) -> PlanStep {
        let (table, c, n, info) = (self.table, &self.c, &self.n, self.info);
        let pg = info.pg_version;
        let value = match (&self.kind, &info.using) {
            (Copy::Retype { .. }, Some(u)) => format!("({u})"),
            _ => c.clone(),
        };
        let quiet = quiet_note(table, &info.triggers, &info.pk, pg);
        let (set, cond) = (format!("{n} = {value}"), format!("{n} IS NULL"));
        PlanStep::new(
            Stage::Backfill,
            format!(
                "copy {c} into {n} for the existing rows, {}{}",
                keyed_on(&info.pk),
                quiet.as_deref().unwrap_or("")
            ),
            if quiet.is_some() {
                batched_update_without_triggers(table, &info.pk, &set, Some(&cond), pg)
            } else {
                batched_update_for(table, &info.pk, &set, Some(&cond), pg)
            },
        )
        .lock(rows_lock(&info.pk))
        .no_transaction()
    }

    /// The IR's exact copy of an index (its whole definition on `copy_name(old)`): only a
    /// type change's copy has that name.
    fn exact_copy(&self, idx: &IndexCopy) -> Option<String> {
        idx.copy_sql.clone().filter(|_| self.tmp == copy_name(self.old))
    }

    /// The indexes on the column this plan builds copies of, and those it can only describe.
    fn split_indexes(&self) -> (Vec<&'a IndexCopy>, Vec<&'a IndexCopy>) {
        self.info.indexes.iter().partition(|i| self.exact_copy(i).is_some() || i.plain_on(self.old))
    }

    /// The index columns with the copy in place of the column.
    fn swap_col(&self, cols: &[String]) -> Vec<String> {
        cols.iter().map(|x| if x == self.old { self.n.clone() } else { qi(x) }).collect()
    }

    /// A key's ` INCLUDE (...)` (with the copy for the column) and ` NULLS NOT DISTINCT`.
    fn key_clauses(&self, idx: &IndexCopy) -> String {
        let mut s = String::new();
        if !idx.include.is_empty() {
            s.push_str(&format!(" INCLUDE ({})", self.swap_col(&idx.include).join(", ")));
        }
        if idx.nulls_not_distinct {
            s.push_str(" NULLS NOT DISTINCT");
        }
        s
    }

    /// Backfill: build the index copies concurrently, describe those it cannot build,
    /// and check the built ones are valid.
    fn index_steps(&self, built: &[&IndexCopy], unbuilt: &[&IndexCopy]) -> Vec<PlanStep> {
        let (table, c, n) = (self.table, &self.c, &self.n);
        let mut steps = Vec::new();
        for idx in built {
            let copy = copy_name(&idx.name);
            let step = match self.exact_copy(idx) {
                Some(sql) => PlanStep::new(
                    Stage::Backfill,
                    format!(
                        "build the copy of index {} on {n} concurrently: its whole definition, with {n} for {c}",
                        qi(&idx.name)
                    ),
                    sql,
                ),
                None => PlanStep::new(
                    Stage::Backfill,
                    format!(
                        "build the copy of index {} on {n} concurrently (same columns; add the original's method, \
                         opclass or WHERE if it has one)",
                        qi(&idx.name)
                    ),
                    format!(
                        "CREATE {}INDEX CONCURRENTLY {} ON {table} ({}){};",
                        if idx.unique { "UNIQUE " } else { "" },
                        qi(&copy),
                        self.swap_col(&idx.columns).join(", "),
                        self.key_clauses(idx)
                    ),
                ),
            };
            steps.push(step.lock(SUE).no_transaction());
        }
        for idx in unbuilt {
            steps.push(PlanStep::new(
                Stage::Backfill,
                format!(
                    "index {} reads {c} in an expression, INCLUDE or WHERE that migrade's history cannot copy: build its \
                     copy on {n} concurrently as {}, with {n} for {c} (DROP COLUMN {c} drops the original)",
                    qi(&idx.name),
                    qi(&copy_name(&idx.name))
                ),
                "",
            ));
        }
        if !built.is_empty() {
            let names: Vec<String> =
                built.iter().map(|i| lit(&sibling(table, &copy_name(&i.name)).to_string())).collect();
            steps.push(index_valid_check(
                &format!("[{}]", names.join(", ")),
                "check the index copies are valid (an interrupted CONCURRENTLY build leaves an INVALID index: \
                 DROP INDEX CONCURRENTLY it and build it again)",
            ));
        }
        steps
    }

    /// Backfill: NOT NULL on the copy, its foreign keys re-created NOT VALID then
    /// validated, and what the history cannot re-create (unknown column, other
    /// constraints, foreign keys of other tables it does not know).
    fn constraint_steps(&self) -> Vec<PlanStep> {
        let (table, c, n, info) = (self.table, &self.c, &self.n, self.info);
        let mut steps = Vec::new();
        if info.not_null {
            steps.extend(not_null_steps(table, self.tmp, info.pg_version, Stage::Backfill));
        }
        if !info.known {
            steps.push(PlanStep::new(
                Stage::Backfill,
                format!(
                    "earlier migrations do not define {table}.{c}: if it is NOT NULL, indexed or part of a constraint, \
                     re-create that on {n} before the swap (CHECK NOT VALID + VALIDATE + SET NOT NULL; CREATE INDEX \
                     CONCURRENTLY; ADD CONSTRAINT ... USING INDEX), because DROP COLUMN {c} drops it"
                ),
                "",
            ));
        }
        for (name, fk) in &info.foreign_keys {
            let copy = qi(&copy_name(name));
            steps.push(
                PlanStep::new(
                    Stage::Backfill,
                    format!("re-create foreign key {} on {n}, NOT VALID: no scan", qi(name)),
                    with_lt(&format!(
                        "ALTER TABLE {table} ADD CONSTRAINT {copy} FOREIGN KEY ({n}) {} NOT VALID;",
                        fk.clause()
                    )),
                )
                .lock("SHARE ROW EXCLUSIVE on both tables (brief: no scan)"),
            );
            steps.push(
                PlanStep::new(
                    Stage::Backfill,
                    format!("validate {copy} in its own transaction: it scans {table}, but reads and writes continue"),
                    format!("ALTER TABLE {table} VALIDATE CONSTRAINT {copy};"),
                )
                .lock(
                    "SHARE UPDATE EXCLUSIVE on the table, ROW SHARE on the referenced one (reads and writes continue)",
                ),
            );
        }
        // A rename's copy has another name than the CHECK expressions read: those stay
        // instructions too.
        let unmoved_checks = match self.kind {
            Copy::Retype { .. } => &[][..],
            Copy::Rename => &info.checks[..],
        };
        let instructed: Vec<&String> =
            info.other_constraints.iter().chain(unmoved_checks.iter().map(|(k, _, _)| k)).collect();
        if !instructed.is_empty() {
            steps.push(PlanStep::new(
                Stage::Backfill,
                format!(
                    "re-create {} on {n}: ADD CONSTRAINT ... NOT VALID, then VALIDATE CONSTRAINT in its own transaction \
                     (their definitions are not in migrade's history; DROP COLUMN {c} drops the originals)",
                    instructed.iter().map(|k| qi(k)).collect::<Vec<_>>().join(", ")
                ),
                "",
            ));
        }
        let unmoved: Vec<&String> =
            info.referenced_by.iter().filter(|t| !info.referencing_fks.iter().any(|f| &f.table == *t)).collect();
        if !unmoved.is_empty() {
            steps.push(PlanStep::new(
                Stage::Backfill,
                format!(
                    "{} reference {table}: their foreign keys depend on the key index of {c}; change their columns the same \
                     way and re-point them at {n} before the swap (DROP COLUMN fails while they exist)",
                    unmoved.iter().map(|t| qi(t)).collect::<Vec<_>>().join(", ")
                ),
                "",
            ));
        }
        steps
    }

    /// Contract: views to handle, (rename) the deploy of code that uses the new name,
    /// the swap, then validation of the foreign keys re-added on the new key.
    fn contract_steps(&self, built: &[&IndexCopy]) -> Vec<PlanStep> {
        let (table, c, n, info) = (self.table, &self.c, &self.n, self.info);
        let mut steps = Vec::new();
        if !info.views.is_empty() {
            steps.push(PlanStep::new(
                Stage::Contract,
                format!(
                    "views {} read {table}: if they use {c}, drop them in the swap transaction and re-create them after it \
                     (DROP COLUMN fails while they depend on it; CASCADE would drop them silently)",
                    info.views.iter().map(|v| qi(v)).collect::<Vec<_>>().join(", ")
                ),
                "",
            ));
        }
        if let Copy::Rename = self.kind {
            steps.push(PlanStep::new(
                Stage::Contract,
                format!(
                    "after the backfill: deploy code that reads and writes {n} only (old and new code can overlap: the \
                     trigger keeps both columns in sync)"
                ),
                "",
            ));
        }
        steps.push(
            PlanStep::new(Stage::Contract, self.swap_title(), self.swap_sql(built)).lock(AE_BRIEF).irreversible(),
        );
        for f in info.referencing_fks.iter().filter(|f| f.validated) {
            let r = sibling(table, &f.table);
            steps.push(
                PlanStep::new(
                    Stage::Contract,
                    format!(
                        "validate {} (re-added on the new key NOT VALID in the swap) in its own transaction: it scans {r}, \
                         but reads and writes continue",
                        qi(&f.name)
                    ),
                    format!("ALTER TABLE {r} VALIDATE CONSTRAINT {};", qi(&f.name)),
                )
                .lock("SHARE UPDATE EXCLUSIVE, ROW SHARE on the referenced table"),
            );
        }
        for (name, _, _) in self.swapped_checks().iter().filter(|(_, _, validated)| *validated) {
            steps.push(
                PlanStep::new(
                    Stage::Contract,
                    format!(
                        "validate {} (re-added on {c} NOT VALID in the swap) in its own transaction: it scans {table}, \
                         but reads and writes continue",
                        qi(name)
                    ),
                    format!("ALTER TABLE {table} VALIDATE CONSTRAINT {};", qi(name)),
                )
                .lock("SHARE UPDATE EXCLUSIVE (reads and writes continue)"),
            );
        }
        steps
    }

    /// The swap's one short transaction: drop the trigger, move the foreign keys of other
    /// tables and the serial's sequence, drop the old column, give the copy and the index
    /// and constraint copies their names; then drop the trigger function.
    fn swap_sql(&self, built: &[&IndexCopy]) -> String {
        let (table, c, n, info) = (self.table, &self.c, &self.n, self.info);
        let mut swap = format!("BEGIN;\n{LT_LOCAL}\nDROP TRIGGER {} ON {table};\n", self.trg);
        // Foreign keys on the old key depend on its index: dropped here, re-added on the new key.
        for f in &info.referencing_fks {
            swap.push_str(&format!("ALTER TABLE {} DROP CONSTRAINT {};\n", sibling(table, &f.table), qi(&f.name)));
        }
        if info.serial && !info.identity {
            swap.push_str(&move_sequence(table, self.old, self.tmp));
        }
        let kept = match self.kind {
            Copy::Retype { .. } => self.old,
            Copy::Rename => self.tmp,
        };
        if info.identity {
            swap.push_str(&capture_identity(table, self.old, kept));
        }
        swap.push_str(&format!("ALTER TABLE {table} DROP COLUMN {c};\n"));
        if let Copy::Retype { .. } = self.kind {
            swap.push_str(&format!("ALTER TABLE {table} RENAME COLUMN {n} TO {c};\n"));
        }
        if info.identity {
            swap.push_str(RESTORE_IDENTITY);
        }
        for idx in built {
            let copy = copy_name(&idx.name);
            match &idx.constraint {
                Some((k, kind)) => swap.push_str(&format!(
                    "ALTER TABLE {table} ADD CONSTRAINT {} {} USING INDEX {}{};\n",
                    qi(k),
                    if *kind == ConstraintKind::PrimaryKey { "PRIMARY KEY" } else { "UNIQUE" },
                    qi(&copy),
                    idx.deferral
                )),
                None => swap.push_str(&format!("ALTER INDEX {} RENAME TO {};\n", sibling(table, &copy), qi(&idx.name))),
            }
        }
        for (name, _) in &info.foreign_keys {
            swap.push_str(&format!(
                "ALTER TABLE {table} RENAME CONSTRAINT {} TO {};\n",
                qi(&copy_name(name)),
                qi(name)
            ));
        }
        for (name, expr, _) in self.swapped_checks() {
            swap.push_str(&format!("ALTER TABLE {table} ADD CONSTRAINT {} CHECK ({expr}) NOT VALID;\n", qi(name)));
        }
        for f in &info.referencing_fks {
            let cols = f.columns.iter().map(|c| qi(c)).collect::<Vec<_>>().join(", ");
            swap.push_str(&format!(
                "ALTER TABLE {} ADD CONSTRAINT {} FOREIGN KEY ({cols}) {} NOT VALID;\n",
                sibling(table, &f.table),
                qi(&f.name),
                f.fk.clause()
            ));
        }
        swap.push_str(&format!("COMMIT;\nDROP FUNCTION {}();", self.fname));
        swap
    }

    /// The CHECKs a type change re-adds in the swap (NOT VALID, validated after it):
    /// DROP COLUMN drops the originals, and their expressions read the column's name,
    /// which the copy has from the swap on.
    fn swapped_checks(&self) -> &'a [(String, String, bool)] {
        match self.kind {
            Copy::Retype { .. } => &self.info.checks,
            Copy::Rename => &[],
        }
    }

    fn swap_title(&self) -> String {
        let (c, n) = (&self.c, &self.n);
        let title = match self.kind {
            Copy::Retype { .. } => format!(
                "swap in one short transaction: drop the trigger and the old {c}, give {n} its name and its indexes their \
                 names (the old values are gone: backup first, needs approval)"
            ),
            Copy::Rename => format!(
                "drop the trigger and the old column {c} in one short transaction, give the index copies their names \
                 (the old column is gone: backup first, needs approval)"
            ),
        };
        if self.info.identity {
            format!(
                "{title}; the column becomes the identity column (same kind, sequence name and options, the sequence's \
                 value carried over: DROP COLUMN {c} drops the old sequence)"
            )
        } else if self.info.serial {
            format!("{title}; {n} first gets the DEFAULT of {c} and the sequence it owns")
        } else {
            title
        }
    }
}

/// A serial column's default and the sequence it owns, given to its copy (read from the
/// catalog: the sequence's name is PostgreSQL's choice): DROP COLUMN then drops neither.
fn move_sequence(table: &QName, old: &str, tmp: &str) -> String {
    let (t, o, n) = (lit(&table.to_string()), lit(old), lit(tmp));
    format!(
        "DO $seq$\nDECLARE\n  seq text := pg_get_serial_sequence({t}, {o});\n  def text := (SELECT pg_get_expr(d.adbin, d.adrelid)\n    \
         FROM pg_attrdef d JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum\n    \
         WHERE d.adrelid = {t}::regclass AND a.attname = {o});\nBEGIN\n  IF def IS NOT NULL THEN\n    \
         EXECUTE format('ALTER TABLE %s ALTER COLUMN %I SET DEFAULT %s', {t}::regclass, {n}, def);\n  END IF;\n  \
         IF seq IS NOT NULL THEN\n    EXECUTE format('ALTER SEQUENCE %s OWNED BY %s.%I', seq, {t}::regclass, {n});\n  \
         END IF;\nEND\n$seq$;\n"
    )
}

/// Before an identity column `old` is dropped in the swap: reads its kind (ALWAYS / BY
/// DEFAULT) and its sequence (name, options, value) from the catalog, and keeps, for
/// [`RESTORE_IDENTITY`] in the same transaction (`set_config(..., true)`), the statements
/// that make `kept` that identity column again. The sequence takes the column's new type;
/// a MINVALUE / MAXVALUE that was the old type's default follows the type, as it does
/// when ALTER COLUMN TYPE changes an identity sequence's type.
fn capture_identity(table: &QName, old: &str, kept: &str) -> String {
    let (t, o, k) = (lit(&table.to_string()), lit(old), lit(kept));
    format!(
        "DO $identity$\nDECLARE\n  seq text := pg_get_serial_sequence({t}, {o});\n  s record;\n  v record;\n  \
         kind text;\n  top bigint;\n  opts text;\nBEGIN\n  \
         SELECT CASE attidentity WHEN 'a' THEN 'ALWAYS' ELSE 'BY DEFAULT' END INTO kind FROM pg_attribute\n    \
         WHERE attrelid = {t}::regclass AND attname = {o};\n  \
         SELECT * INTO s FROM pg_sequence WHERE seqrelid = seq::regclass;\n  \
         EXECUTE format('SELECT last_value, is_called FROM %s', seq) INTO v;\n  \
         top := CASE s.seqtypid WHEN 'int2'::regtype THEN 32767 WHEN 'int4'::regtype THEN 2147483647 \
         ELSE 9223372036854775807 END;\n  \
         opts := format('SEQUENCE NAME %s START WITH %s INCREMENT BY %s CACHE %s', seq, s.seqstart, s.seqincrement, s.seqcache);\n  \
         IF s.seqmin <> (CASE WHEN s.seqincrement > 0 THEN 1 ELSE -top - 1 END) THEN\n    \
         opts := opts || format(' MINVALUE %s', s.seqmin);\n  END IF;\n  \
         IF s.seqmax <> (CASE WHEN s.seqincrement > 0 THEN top ELSE -1 END) THEN\n    \
         opts := opts || format(' MAXVALUE %s', s.seqmax);\n  END IF;\n  \
         IF s.seqcycle THEN\n    opts := opts || ' CYCLE';\n  END IF;\n  \
         PERFORM set_config('migrade.identity', format('ALTER TABLE %s ALTER COLUMN %I ADD GENERATED %s AS IDENTITY (%s)', \
         {t}::regclass, {k}, kind, opts), true);\n  \
         PERFORM set_config('migrade.identity_value', format('SELECT setval(%L, %s, %L)', seq, v.last_value, v.is_called), true);\n\
         END\n$identity$;\n"
    )
}

/// After the swap's DROP COLUMN: runs what [`capture_identity`] kept.
const RESTORE_IDENTITY: &str = "DO $identity$\nBEGIN\n  EXECUTE current_setting('migrade.identity');\n  \
     EXECUTE current_setting('migrade.identity_value');\nEND\n$identity$;\n";

/// A DO block that fails loudly when one of the named indexes is missing or INVALID.
fn index_valid_check(array_sql: &str, title: &str) -> PlanStep {
    PlanStep::new(
        Stage::Backfill,
        title.to_string(),
        format!(
            "DO $check$\nDECLARE\n  idx text;\nBEGIN\n  FOREACH idx IN ARRAY ARRAY{array_sql}::text[] LOOP\n    \
             IF NOT coalesce((SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass(idx)), false) THEN\n      \
             RAISE EXCEPTION 'index % is missing or INVALID: DROP INDEX CONCURRENTLY IF EXISTS %, then build it again', idx, idx;\n    \
             END IF;\n  END LOOP;\nEND\n$check$;"
        ),
    )
}

pub fn change_column_type(table: &QName, column: &str, new_type: &str, info: &ColumnInfo) -> Vec<PlanStep> {
    copy_column(table, column, &copy_name(column), Copy::Retype { new_type }, info)
}

pub fn rename_column(table: &QName, old: &str, new: &str, info: &ColumnInfo) -> Vec<PlanStep> {
    if !info.views.is_empty() {
        // A copy's swap drops the old column, which fails while a view uses it (and
        // CASCADE would drop the view); the rename in place keeps the views.
        return vec![
            PlanStep::new(
                Stage::Expand,
                format!(
                    "views {} read {table}: rename the column in place, catalog only, as the file does (the views \
                     follow it: PostgreSQL links them to the column, not its name); a synced copy would have to \
                     drop and re-create them",
                    info.views.iter().map(|v| qi(v)).collect::<Vec<_>>().join(", ")
                ),
                with_lt(&format!("ALTER TABLE {table} RENAME COLUMN {} TO {};", qi(old), qi(new))),
            )
            .lock(AE_BRIEF),
            PlanStep::new(
                Stage::Deploy,
                format!(
                    "deploy code that uses {} with the rename: code that still names {} fails from the rename on",
                    qi(new),
                    qi(old)
                ),
                "",
            ),
        ];
    }
    let mut steps = vec![PlanStep::new(
        Stage::Expand,
        format!(
            "alternative, instead of every step below, when no old code runs during the change (or it reads {table} \
             through a view you re-point): rename in place, catalog only: `SET lock_timeout = '5s'; ALTER TABLE {table} \
             RENAME COLUMN {} TO {};`",
            qi(old),
            qi(new)
        ),
        "",
    )];
    steps.extend(copy_column(table, old, new, Copy::Rename, info));
    steps
}

pub fn rename_table(old: &QName, new: &str) -> Vec<PlanStep> {
    let n = qi(new);
    let new_q = sibling(old, new);
    vec![
        PlanStep::new(
            Stage::Expand,
            format!(
                "rename {old} and leave a view under the old name: old code keeps reading and writing through it \
                 (a simple view is updatable; its column list is fixed when it is created)"
            ),
            format!(
                "BEGIN;\n{LT_LOCAL}\nALTER TABLE {old} RENAME TO {n};\nCREATE VIEW {old} AS SELECT * FROM {new_q};\nCOMMIT;"
            ),
        )
        .lock(AE_BRIEF),
        PlanStep::new(Stage::Deploy, format!("deploy code that uses {new_q} only"), ""),
        PlanStep::new(Stage::Contract, format!("drop the compatibility view {old}"), with_lt(&format!("DROP VIEW {old};")))
            .lock("ACCESS EXCLUSIVE on the view (brief)"),
    ]
}

// ---------------------------------------------------------------------------
// Constraints and indexes
// ---------------------------------------------------------------------------

/// An ADD CONSTRAINT (FOREIGN KEY or CHECK) re-issued NOT VALID, then validated
/// in a later migration. `fk_index` is the index to build on the referencing
/// columns when none covers them yet.
pub fn constraint_not_valid(
    table: &QName,
    spec: &crate::ir::ConstraintSpec,
    constraint: &str,
    fk_index: Option<&str>,
) -> Vec<PlanStep> {
    let fk = spec.kind == ConstraintKind::ForeignKey;
    let columns = &spec.columns;
    let k = qi(constraint);
    // The definition from the IR: the foreign key's clause, or the CHECK expression.
    let cols = || columns.iter().map(|c| qi(c)).collect::<Vec<_>>().join(", ");
    let definition = match (&spec.references, &spec.expr_sql) {
        (Some(r), _) if fk => Some(format!("FOREIGN KEY ({}) {}", cols(), r.clause())),
        (_, Some(e)) if spec.kind == ConstraintKind::Check => Some(format!("CHECK ({e})")),
        _ => None,
    };
    let add = definition.map(|d| format!("ALTER TABLE {table} ADD CONSTRAINT {k} {d} NOT VALID;"));
    let mut steps = vec![match add {
        Some(sql) => PlanStep::new(
            Stage::Expand,
            format!("add {k} NOT VALID: no scan; new and updated rows are checked from now on"),
            with_lt(&sql),
        )
        .lock(if fk {
            "SHARE ROW EXCLUSIVE on both tables (brief: blocks writes while it waits)"
        } else {
            AE_BRIEF
        }),
        None => PlanStep::new(
            Stage::Expand,
            format!("add {k} as written, with NOT VALID at the end of its definition: no scan"),
            "",
        ),
    }];
    if let Some(idx) = fk_index {
        let cols = columns.iter().map(|c| qi(c)).collect::<Vec<_>>().join(", ");
        steps.push(
            PlanStep::new(
                Stage::Expand,
                "recommended: index the referencing column(s) concurrently, so deletes and updates of the referenced \
                 rows do not scan this table (the file does not create it: left on purpose)"
                    .to_string(),
                format!("CREATE INDEX CONCURRENTLY IF NOT EXISTS {} ON {table} ({cols});", qi(idx)),
            )
            .lock(SUE)
            .no_transaction()
            .leaving(sibling(table, idx)),
        );
    }
    steps.push(
        PlanStep::new(
            Stage::Contract,
            format!(
                "in a later migration (its own transaction): validate {k}; it scans {table} but reads and writes continue"
            ),
            format!("ALTER TABLE {table} VALIDATE CONSTRAINT {k};"),
        )
        .lock(if fk { "SHARE UPDATE EXCLUSIVE, ROW SHARE on the referenced table" } else { SUE }),
    );
    steps
}

/// A new column's inline UNIQUE / PRIMARY KEY from an index built concurrently, with
/// the key's deferral. A primary key first makes the `nullable` columns NOT NULL the
/// safe way.
pub fn add_column_key(
    table: &QName,
    constraint: &str,
    column: &crate::ir::ColumnSpec,
    nullable: &[String],
    pg_version: u32,
) -> Vec<PlanStep> {
    let columns = std::slice::from_ref(&column.name);
    let primary = column.primary_key;
    let shape = KeyShape {
        deferrable: column.key_deferrable,
        initially_deferred: column.key_initially_deferred,
        nulls_not_distinct: column.key_nulls_not_distinct,
        ..KeyShape::default()
    };
    add_key(table, constraint, columns, primary, &shape, nullable, pg_version)
}

/// ` DEFERRABLE [INITIALLY DEFERRED]` of a constraint (`ADD CONSTRAINT … USING INDEX` takes it).
fn deferral(deferrable: bool, initially_deferred: bool) -> &'static str {
    match (deferrable, initially_deferred) {
        (_, true) => " DEFERRABLE INITIALLY DEFERRED",
        (true, false) => " DEFERRABLE",
        (false, false) => "",
    }
}

/// What a UNIQUE / PRIMARY KEY constraint says beyond its columns, kept by its plan:
/// the concurrent index gets the INCLUDE columns and NULLS NOT DISTINCT, the attached
/// constraint the deferral (`ADD CONSTRAINT … USING INDEX` takes DEFERRABLE and
/// INITIALLY DEFERRED; without them the key would check immediately).
#[derive(Debug, Clone, Default)]
pub struct KeyShape {
    pub nulls_not_distinct: bool,
    pub include: Vec<String>,
    pub deferrable: bool,
    pub initially_deferred: bool,
}

impl KeyShape {
    pub fn of(spec: &crate::ir::ConstraintSpec) -> KeyShape {
        KeyShape {
            nulls_not_distinct: spec.nulls_not_distinct,
            include: spec.include.clone(),
            deferrable: spec.deferrable,
            initially_deferred: spec.initially_deferred,
        }
    }

    /// ` INCLUDE (...)` and ` NULLS NOT DISTINCT` of the index, in PostgreSQL's order.
    fn index_clauses(&self) -> String {
        let mut s = String::new();
        if !self.include.is_empty() {
            s.push_str(&format!(" INCLUDE ({})", self.include.iter().map(|c| qi(c)).collect::<Vec<_>>().join(", ")));
        }
        if self.nulls_not_distinct {
            s.push_str(" NULLS NOT DISTINCT");
        }
        s
    }

    /// ` DEFERRABLE [INITIALLY DEFERRED]` of the constraint.
    fn deferral(&self) -> &'static str {
        deferral(self.deferrable, self.initially_deferred)
    }
}

/// UNIQUE / PRIMARY KEY: `CREATE UNIQUE INDEX CONCURRENTLY`, check it, (PK:
/// NOT NULL on `nullable` columns), then `ADD CONSTRAINT … USING INDEX`.
pub fn add_key(
    table: &QName,
    constraint: &str,
    columns: &[String],
    primary: bool,
    shape: &KeyShape,
    nullable: &[String],
    pg_version: u32,
) -> Vec<PlanStep> {
    let idx = qi(constraint);
    let cols = columns.iter().map(|c| qi(c)).collect::<Vec<_>>().join(", ");
    let clauses = shape.index_clauses();
    let mut steps = vec![
        PlanStep::new(
            Stage::Expand,
            format!("build the unique index {idx} on {table} concurrently, outside a transaction"),
            format!("CREATE UNIQUE INDEX CONCURRENTLY {idx} ON {table} ({cols}){clauses};"),
        )
        .lock(SUE)
        .no_transaction(),
        {
            let mut s = index_valid_check(
                &format!("[{}]", lit(&sibling(table, constraint).to_string())),
                &format!(
                    "check {idx} is valid: a failed build (duplicates, a cancelled session) leaves an INVALID index; \
                     then DROP INDEX CONCURRENTLY IF EXISTS {idx}, fix the cause and build it again"
                ),
            );
            s.stage = Stage::Expand;
            s
        },
    ];
    if primary {
        for c in nullable {
            steps.extend(not_null_steps(table, c, pg_version, Stage::Expand));
        }
    }
    let what = if primary { "PRIMARY KEY" } else { "UNIQUE" };
    steps.push(
        PlanStep::new(
            Stage::Expand,
            format!(
                "attach {idx} as the {}: no index build, no scan",
                if primary { "primary key" } else { "unique constraint" }
            ),
            with_lt(&format!("ALTER TABLE {table} ADD CONSTRAINT {idx} {what} USING INDEX {idx}{};", shape.deferral())),
        )
        .lock(AE_BRIEF),
    );
    steps
}

/// A CREATE INDEX statement (already with CONCURRENTLY) on `table` and the check for an
/// invalid index.
pub fn create_index_concurrently(sql_concurrent: &str, table: &QName, index: Option<&str>) -> Vec<PlanStep> {
    let sql = format!("{};", sql_concurrent.trim().trim_end_matches(';').trim_end());
    let table = Some(table.clone());
    let check = match (index, &table) {
        (Some(i), Some(t)) => {
            let q = sibling(t, i);
            let mut s = index_valid_check(
                &format!("[{}]", lit(&q.to_string())),
                &format!(
                    "check {} is valid: a failed or cancelled build leaves an INVALID index (and IF NOT EXISTS then \
                     skips it silently): DROP INDEX CONCURRENTLY IF EXISTS {q}; and build it again",
                    qi(i)
                ),
            );
            s.stage = Stage::Expand;
            s
        }
        (_, Some(t)) => PlanStep::new(
            Stage::Expand,
            format!(
                "check {t} has no INVALID index left by a failed or cancelled build; drop such an index CONCURRENTLY and build it again"
            ),
            format!(
                "DO $check$\nBEGIN\n  IF EXISTS (SELECT 1 FROM pg_index WHERE indrelid = {}::regclass AND NOT indisvalid) THEN\n    \
                 RAISE EXCEPTION 'an index of % is INVALID: DROP INDEX CONCURRENTLY it, then build it again', {};\n  \
                 END IF;\nEND\n$check$;",
                lit(&t.to_string()),
                lit(&t.to_string())
            ),
        ),
        _ => PlanStep::new(
            Stage::Expand,
            "if the build fails it leaves an INVALID index: DROP INDEX CONCURRENTLY IF EXISTS it and build it again",
            "",
        ),
    };
    vec![
        PlanStep::new(
            Stage::Expand,
            "build the index concurrently, in a migration that does not run in a transaction",
            sql,
        )
        .lock(SUE)
        .no_transaction(),
        check,
    ]
}

pub fn drop_index_concurrently(index: &QName) -> Vec<PlanStep> {
    vec![
        PlanStep::new(
            Stage::Contract,
            format!("check {index} is unused: idx_scan should not grow over a representative period"),
            format!(
                "SELECT relname, indexrelname, idx_scan FROM pg_stat_user_indexes WHERE indexrelid = to_regclass({});",
                lit(&index.to_string())
            ),
        ),
        PlanStep::new(
            Stage::Contract,
            "drop the index concurrently, in a migration that does not run in a transaction (if it fails it leaves \
             the index INVALID: run it again)",
            format!("DROP INDEX CONCURRENTLY IF EXISTS {index};"),
        )
        .lock("SHARE UPDATE EXCLUSIVE on the table (reads and writes continue)")
        .no_transaction(),
    ]
}

// ---------------------------------------------------------------------------
// Dropping things
// ---------------------------------------------------------------------------

/// `as_text`: the column's type is an enum of the history: the backup keeps its values as
/// text, so that it does not hold on to a type the migration may drop next.
pub fn drop_column(table: &QName, column: &str, pk: &Key, as_text: bool) -> Vec<PlanStep> {
    let c = qi(column);
    vec![
        PlanStep::new(
            Stage::Deploy,
            format!(
                "deploy code that no longer reads or writes {table}.{c} (Rails ignored_columns, Django \
                 django-deprecate-fields, or simply unused)"
            ),
            "",
        ),
        column_backup(table, column, pk, as_text),
        PlanStep::new(
            Stage::Contract,
            format!(
                "drop {table}.{c}: catalog only, but its data, indexes and constraints are gone (backup first, needs \
                 approval; it fails while a view depends on it)"
            ),
            with_lt(&format!("ALTER TABLE {table} DROP COLUMN {c};")),
        )
        .lock(AE_BRIEF)
        .irreversible(),
    ]
}

/// Before a column is dropped: how much data it holds, and a backup of it with the key
/// (left on purpose: the only copy once it is dropped).
fn column_backup(table: &QName, column: &str, pk: &Key, as_text: bool) -> PlanStep {
    let c = qi(column);
    let backup = sibling(table, &format!("{}_{}_backup", table.name, column));
    let value = if as_text { format!("{c}::text AS {c}") } else { c.clone() };
    let keep = if pk.is_empty() {
        "*".to_string()
    } else if pk.is_only(column) {
        value
    } else if pk.0.iter().any(|k| k == column) {
        pk.0.iter().map(|k| if k == column { value.clone() } else { qi(k) }).collect::<Vec<_>>().join(", ")
    } else {
        format!("{}, {value}", pk.list(""))
    };
    PlanStep::new(
        Stage::Contract,
        format!(
            "check how much data {c} still holds, and back it up with its key into {backup} (left on purpose: \
             the only copy of the data once the column is dropped)"
        ),
        format!(
            "SELECT count(*) FILTER (WHERE {c} IS NOT NULL) AS non_null_rows FROM {table};\n\
             CREATE TABLE {backup} AS SELECT {keep} FROM {table};"
        ),
    )
    .lock(READS)
    .leaving(&backup)
}

/// `ALTER TABLE t DROP COLUMN x, ADD COLUMN x <new definition>` (a type change with no
/// cast, as Prisma writes it): the new column is added beside the old one as `x_new`,
/// made NOT NULL without a scan under ACCESS EXCLUSIVE, and swapped in after the deploy
/// (the old column backed up, dropped, and `x_new` renamed to `x` in one short
/// transaction). The file's two actions at once would drop the old values and, for a
/// NOT NULL column without a default, fail on a table with rows.
pub fn replace_column(
    table: &QName,
    column: &crate::ir::ColumnSpec,
    pk: &Key,
    as_text: bool,
    pg: u32,
) -> Vec<PlanStep> {
    let c = qi(&column.name);
    let tmp = copy_name(&column.name);
    let n = qi(&tmp);
    let ty = &column.type_ref.display;
    let collate = column.collation.as_ref().map(|x| format!(" COLLATE {}", qi(x))).unwrap_or_default();
    let default = column.default_sql.as_deref().map(|d| format!(" DEFAULT {d}")).unwrap_or_default();
    let mut steps = vec![
        PlanStep::new(
            Stage::Expand,
            format!(
                "add the new {c} ({ty}) beside the old one as {n}{}: the file drops {table}.{c} and adds it again",
                if column.not_null { ", nullable (NOT NULL comes later)" } else { "" }
            ),
            with_lt(&format!("ALTER TABLE {table} ADD COLUMN {n} {ty}{collate}{default};")),
        )
        .lock(AE_BRIEF),
        PlanStep::new(
            Stage::Deploy,
            format!(
                "deploy code that writes {n} as well as {c} (the file gives no conversion: the old values are not \
                 carried over)"
            ),
            "",
        ),
    ];
    if column.not_null {
        if pg >= 12 {
            steps.push(nn_check_step(table, &tmp, Stage::Backfill));
        }
        if column.default_sql.is_none() {
            steps.extend(fill_unknown_steps(
                table,
                &tmp,
                pk,
                Stage::Backfill,
                "the file gives no value for the existing rows: as written it fails on a table with rows",
            ));
        }
        if pg >= 12 {
            steps.push(nn_validate_step(table, &tmp, Stage::Backfill));
        }
        steps.push(nn_set_step(table, &tmp, pg, Stage::Backfill));
    }
    steps.push(column_backup(table, &column.name, pk, as_text));
    steps.push(
        PlanStep::new(
            Stage::Contract,
            format!(
                "after the deploy, swap in one short transaction: drop the old {c} and give {n} its name (the old \
                 values are gone: backup first, needs approval)"
            ),
            format!(
                "BEGIN;\n{LT_LOCAL}\nALTER TABLE {table} DROP COLUMN {c};\nALTER TABLE {table} RENAME COLUMN {n} TO {c};\nCOMMIT;"
            ),
        )
        .lock(AE_BRIEF)
        .irreversible(),
    );
    steps
}

/// `cascade`: the file's DROP says CASCADE; the plan's final drop keeps it (it drops the
/// same dependents the file drops, such as other tables' foreign keys). `if_exists`: the
/// file's DROP says IF EXISTS; so do the plan's rename and drop (the table may be absent).
pub fn drop_table(table: &QName, cascade: bool, if_exists: bool) -> Vec<PlanStep> {
    let ie = if if_exists { "IF EXISTS " } else { "" };
    let parked = sibling(table, &format!("{}_deprecated", table.name));
    vec![
        PlanStep::new(Stage::Deploy, format!("deploy code that no longer uses {table}"), ""),
        PlanStep::new(
            Stage::Contract,
            format!(
                "rename {table} first, so that anything still using it fails loudly and it can be brought back cheaply \
                 (ALTER TABLE {parked} RENAME TO {})",
                qi(&table.name)
            ),
            with_lt(&format!("ALTER TABLE {ie}{table} RENAME TO {};", qi(&parked.name))),
        )
        .lock(AE_BRIEF),
        PlanStep::new(
            Stage::Contract,
            format!("after a release with no errors, back it up: pg_dump --table={parked} --format=custom"),
            "",
        ),
        PlanStep::new(
            Stage::Contract,
            if cascade {
                format!(
                    "drop {parked} with CASCADE, as the file does: it also drops what depends on it, such as foreign \
                     keys from other tables (backup first, needs approval)"
                )
            } else {
                format!("drop {parked} (backup first, needs approval; foreign keys from other tables make it fail)")
            },
            with_lt(&format!("DROP TABLE {ie}{parked}{};", if cascade { " CASCADE" } else { "" })),
        )
        .lock("ACCESS EXCLUSIVE (brief)")
        .irreversible(),
    ]
}

/// An `INSERT ... SELECT` that writes explicit values into a column filled from a
/// sequence (serial or identity): the statement as written, then the sequence advanced
/// past the largest value, so the next INSERT that takes the default does not collide.
pub fn copy_then_setval(table: &QName, column: &str, insert_sql: &str) -> Vec<PlanStep> {
    let c = qi(column);
    vec![
        PlanStep::new(
            Stage::Expand,
            "the INSERT ... SELECT, as written",
            format!("{};", insert_sql.trim_end_matches(';')),
        ),
        PlanStep::new(
            Stage::Expand,
            format!(
                "advance the sequence of {table}.{c} past the copied values: the next INSERT that takes the default \
                 gets a new id (without it: a duplicate key)"
            ),
            format!(
                "SELECT setval(pg_get_serial_sequence({}, {}), COALESCE((SELECT max({c}) FROM {table}), 0) + 1, false);",
                lit(&table.to_string()),
                lit(column)
            ),
        ),
    ]
}

/// `DROP TABLE t; ALTER TABLE t_new RENAME TO t` (a table rebuilt under a temporary name,
/// then swapped in): the old table is renamed away instead of dropped, in the same short
/// transaction as the swap (which stands in for the file's RENAME, statement `rename_at`),
/// and dropped only after a release proves the new one.
pub fn swap_table(old: &QName, new: &QName, cascade: bool, rename_at: usize) -> Vec<PlanStep> {
    let parked = sibling(old, &format!("{}_deprecated", old.name));
    let mut steps = vec![
        PlanStep::new(
            Stage::Expand,
            format!(
                "swap the tables in one short transaction: rename {old} to {} instead of dropping it (its rows stay \
                 until the new table is proven), and give {new} its name, as the file does",
                qi(&parked.name)
            ),
            format!(
                "BEGIN;\n{LT_LOCAL}\nALTER TABLE {old} RENAME TO {};\nALTER TABLE {new} RENAME TO {};\nCOMMIT;",
                qi(&parked.name),
                qi(&old.name)
            ),
        )
        .lock(AE_BRIEF)
        .replacing(rename_at),
    ];
    // The last two steps of drop_table: the backup and the drop of the parked table.
    steps.extend(drop_table(old, cascade, false).into_iter().skip(2));
    steps
}

/// A table rebuilt under its own name (`ALTER TABLE t RENAME TO t_old; CREATE TABLE t
/// (...); INSERT INTO t ... SELECT ... FROM t_old; [DROP TABLE t_old;]`), online.
pub struct Rebuild<'a> {
    pub table: &'a QName,
    /// The name the file renames the old table to.
    pub old: &'a str,
    /// The file's CREATE TABLE, deparsed under `copy_name(table)`.
    pub create_sql: &'a str,
    /// The INSERT's columns (every column of the new table when it names none).
    pub columns: &'a [String],
    /// The primary key of the new table (the sync trigger finds a row's copy by it).
    pub new_key: &'a [String],
    /// The INSERT's query for one row of the old table (NEW and OLD).
    pub row_new: &'a str,
    pub row_old: &'a str,
    /// The old table's key, for the batches that copy its rows.
    pub old_key: &'a Key,
    /// The file's statements the plan stands in for.
    pub create_at: usize,
    pub copy_at: usize,
    pub drop_at: Option<usize>,
    pub pg_version: u32,
}

/// Online rebuild: the new table beside the old one under `copy_name`, kept in step by a
/// trigger on the old table that applies the file's own query to each written row, the
/// existing rows copied in batches through the same trigger, then the names swapped in
/// one short transaction (the old table under the file's name for it, the new one's
/// indexes, constraints and sequences under the names the file's CREATE gives them),
/// and the old table dropped after a release when the file drops it.
pub fn table_rebuild(r: &Rebuild) -> Vec<PlanStep> {
    let t = r.table;
    let new_name = copy_name(&t.name);
    let new = sibling(t, &new_name);
    let old = sibling(t, r.old);
    let fname = sibling(t, &format!("{}_rebuild_sync", t.name));
    let trg = qi(&format!("{}_rebuild_sync", t.name));
    let cols = r.columns.iter().map(|c| qi(c)).collect::<Vec<_>>().join(", ");
    let key = r.new_key.iter().map(|c| qi(c)).collect::<Vec<_>>();
    let key_match = format!(
        "({}) = ({})",
        key.iter().map(|k| format!("n.{k}")).collect::<Vec<_>>().join(", "),
        key.iter().map(|k| format!("o.{k}")).collect::<Vec<_>>().join(", ")
    );
    let mut steps = vec![
        PlanStep::new(
            Stage::Expand,
            format!("create the new {t} beside the old one, as {new}: the file's definition, no rows yet"),
            r.create_sql.to_string(),
        )
        .replacing(r.create_at),
        PlanStep::new(
            Stage::Expand,
            format!(
                "keep {new} in step with {t}: every row written to {t} is re-derived with the file's own query \
                 (its copy replaced), and a deleted row's copy is deleted; the trigger fires even when replication \
                 triggers are off (ENABLE ALWAYS)"
            ),
            format!(
                "CREATE FUNCTION {fname}() RETURNS trigger LANGUAGE plpgsql AS $sync$\nBEGIN\n  \
                 IF TG_OP <> 'INSERT' THEN\n    DELETE FROM {new} AS n USING ({}) AS o ({cols}) WHERE {key_match};\n  \
                 END IF;\n  IF TG_OP <> 'DELETE' THEN\n    INSERT INTO {new} ({cols}) {};\n  END IF;\n  RETURN NULL;\n\
                 END\n$sync$;\n{LT}\nCREATE TRIGGER {trg} AFTER INSERT OR UPDATE OR DELETE ON {t}\n  FOR EACH ROW {} \
                 {fname}();\nALTER TABLE {t} ENABLE ALWAYS TRIGGER {trg};",
                r.row_old,
                r.row_new,
                execute_function(r.pg_version)
            ),
        )
        .lock("SHARE ROW EXCLUSIVE (brief: blocks writes while it waits)"),
    ];
    let touch = r.old_key.0.first().map(|k| format!("{} = {}", qi(k), qi(k)));
    steps.push(match touch {
        Some(set) => PlanStep::new(
            Stage::Backfill,
            format!(
                "copy the existing rows of {t} into {new} {}: each batch rewrites its rows unchanged, so the trigger \
                 copies them (the table's own triggers do not fire)",
                keyed_on(r.old_key)
            ),
            batched_update_without_triggers(t, r.old_key, &set, None, r.pg_version),
        )
        .lock(rows_lock(r.old_key))
        .no_transaction(),
        None => PlanStep::new(
            Stage::Backfill,
            format!(
                "copy the existing rows of {t} into {new}: rewrite each row unchanged (UPDATE {t} SET <column> = \
                 <column>) in batches, so the trigger copies it"
            ),
            "",
        ),
    });
    steps.push(
        PlanStep::new(
            Stage::Contract,
            format!(
                "swap in one short transaction: {t} becomes {old} as in the file, {new} becomes {t}, its indexes, \
                 constraints and sequences take the names the file's CREATE TABLE gives them, and its sequences \
                 move past the copied values (the next default value is new)"
            ),
            format!(
                "BEGIN;\n{LT_LOCAL}\nDROP TRIGGER {trg} ON {t};\nALTER TABLE {t} RENAME TO {};\n\
                 ALTER TABLE {new} RENAME TO {};\n{}{}COMMIT;\nDROP FUNCTION {fname}();",
                qi(r.old),
                qi(&t.name),
                rebuilt_names(t, &new_name),
                rebuilt_sequences(t)
            ),
        )
        .lock(AE_BRIEF)
        .replacing(r.copy_at),
    );
    if let Some(d) = r.drop_at {
        steps.push(PlanStep::new(
            Stage::Contract,
            format!("after a release with no errors, back {old} up: pg_dump --table={old} --format=custom"),
            "",
        ));
        steps.push(
            PlanStep::new(
                Stage::Contract,
                format!("drop {old}, as the file does (backup first, needs approval)"),
                with_lt(&format!("DROP TABLE {old};")),
            )
            .lock("ACCESS EXCLUSIVE (brief)")
            .irreversible()
            .replacing(d),
        );
    }
    steps
}

/// A DO block that advances each sequence of `table`'s columns past the column's largest
/// value (read through an index that starts with the column; without one, a NOTICE asks
/// for it rather than scanning under the swap's lock): rows copied with their ids, the
/// next default value must be new.
fn rebuilt_sequences(table: &QName) -> String {
    let rel = lit(&table.to_string());
    format!(
        "DO $seq$\nDECLARE\n  r record;\nBEGIN\n  \
         FOR r IN SELECT a.attname, pg_get_serial_sequence({rel}, a.attname) AS seq, EXISTS (SELECT 1 FROM pg_index x \
         WHERE x.indrelid = a.attrelid AND x.indkey[0] = a.attnum) AS indexed FROM pg_attribute a \
         WHERE a.attrelid = {rel}::regclass AND a.attnum > 0 AND NOT a.attisdropped \
         AND pg_get_serial_sequence({rel}, a.attname) IS NOT NULL LOOP\n    \
         IF r.indexed THEN\n      \
         EXECUTE format('SELECT setval(%L, coalesce((SELECT max(%I) FROM %s), 0) + 1, false)', r.seq, r.attname, \
         {rel}::regclass);\n    ELSE\n      \
         RAISE NOTICE 'advance % past the largest %.% (setval) before new rows take its default', r.seq, {rel}, \
         r.attname;\n    END IF;\n  END LOOP;\nEND\n$seq$;\n"
    )
}

/// A DO block that gives the indexes, sequences and CHECK / foreign key constraints of
/// `table` (just renamed from `built`) the names PostgreSQL gives them when the table is
/// created under its own name while the old table still holds its names: `<table>_<suffix>`,
/// or with the first number that makes it free.
fn rebuilt_names(table: &QName, built: &str) -> String {
    let rel = lit(&table.to_string());
    let (prefix, base) = (lit(&format!("{built}_")), lit(&format!("{}_", table.name)));
    format!(
        "DO $names$\nDECLARE\n  r record;\n  target text;\n  n int;\n  ns oid := (SELECT relnamespace FROM pg_class \
         WHERE oid = {rel}::regclass);\nBEGIN\n  \
         FOR r IN SELECT c.relname AS name, c.relkind AS kind FROM pg_class c WHERE c.relnamespace = ns \
         AND left(c.relname, length({prefix})) = {prefix} AND (c.oid IN (SELECT indexrelid FROM pg_index WHERE indrelid = \
         {rel}::regclass) OR c.oid IN (SELECT objid FROM pg_depend WHERE refobjid = {rel}::regclass \
         AND classid = 'pg_class'::regclass AND deptype IN ('a', 'i'))) LOOP\n    \
         target := {base} || substr(r.name, length({prefix}) + 1);\n    n := 0;\n    \
         WHILE EXISTS (SELECT 1 FROM pg_class WHERE relnamespace = ns AND relname = target || coalesce(nullif(n, 0)::text, '')) LOOP\n      \
         n := n + 1;\n    END LOOP;\n    \
         EXECUTE format('ALTER %s %I.%I RENAME TO %I', CASE r.kind WHEN 'S' THEN 'SEQUENCE' ELSE 'INDEX' END, \
         (SELECT nspname FROM pg_namespace WHERE oid = ns), r.name, target || coalesce(nullif(n, 0)::text, ''));\n  \
         END LOOP;\n  \
         FOR r IN SELECT conname AS name FROM pg_constraint WHERE conrelid = {rel}::regclass AND contype IN ('c', 'f') \
         AND left(conname, length({prefix})) = {prefix} LOOP\n    \
         target := {base} || substr(r.name, length({prefix}) + 1);\n    n := 0;\n    \
         WHILE EXISTS (SELECT 1 FROM pg_constraint WHERE connamespace = ns AND conname = target || coalesce(nullif(n, 0)::text, '')) LOOP\n      \
         n := n + 1;\n    END LOOP;\n    \
         EXECUTE format('ALTER TABLE %s RENAME CONSTRAINT %I TO %I', {rel}::regclass, r.name, \
         target || coalesce(nullif(n, 0)::text, ''));\n  END LOOP;\nEND\n$names$;\n"
    )
}

// ---------------------------------------------------------------------------
// Data changes
// ---------------------------------------------------------------------------

/// 8 hex digits of FNV-1a: stable across builds and platforms.
fn short_hash(s: &str) -> String {
    let mut h: u32 = 0x811c_9dc5;
    for b in s.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    format!("{h:08x}")
}

/// A backup of the rows a data change touches, named after the change (`<table>_backup_<hash of
/// the change>`), so two changes of one table in a file get two backups. Left on purpose.
/// `select` is the backup's select list when `*` would not do (see
/// [`backup_select`]).
fn backup_rows(table: &QName, change: &str, where_sql: Option<&str>, what: &str, select: Option<&str>) -> PlanStep {
    let backup = sibling(table, &format!("{}_backup_{}", table.name, short_hash(&format!("{what}|{change}"))));
    PlanStep::new(
        Stage::Backfill,
        format!("back up the rows this {what} (left on purpose: drop {backup} once the change is verified)"),
        format!(
            "CREATE TABLE {backup} AS SELECT {} FROM {table}{};",
            select.unwrap_or("*"),
            where_sql.map(|w| format!(" WHERE {w}")).unwrap_or_default()
        ),
    )
    .lock(READS)
    .leaving(backup)
}

pub fn large_update_for(
    table: &QName,
    pk: &Key,
    set_sql: Option<&str>,
    where_sql: Option<&str>,
    backup_select: Option<&str>,
    pg: u32,
) -> Vec<PlanStep> {
    let title = format!("update {table} {}, outside the schema migration", keyed_on(pk));
    vec![
        backup_rows(table, &format!("{set_sql:?} {where_sql:?}"), where_sql, "changes", backup_select),
        match set_sql {
            Some(set) => PlanStep::new(Stage::Backfill, title, batched_update_for(table, pk, set, where_sql, pg))
                .lock(rows_lock(pk))
                .no_transaction(),
            None => PlanStep::new(Stage::Backfill, format!("{title}: one transaction per key range"), ""),
        },
    ]
}

pub fn large_delete_for(
    table: &QName,
    pk: &Key,
    where_sql: Option<&str>,
    backup_select: Option<&str>,
    pg: u32,
) -> Vec<PlanStep> {
    vec![
        backup_rows(table, &format!("{where_sql:?}"), where_sql, "deletes", backup_select),
        PlanStep::new(
            Stage::Backfill,
            format!("delete from {table} {}, outside the schema migration", keyed_on(pk)),
            batched_delete_for(table, pk, where_sql, pg),
        )
        .lock(rows_lock(pk))
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

// ---------------------------------------------------------------------------
// The whole file's plan
// ---------------------------------------------------------------------------

/// The instruction that stands for the SQL steps of a finding on a statement inside a DO
/// block (the block runs as one piece: they cannot replace the statement in it): what
/// they would do outside the block, by their titles. None when the plan has no SQL.
fn do_block_step(text: &str, f: &crate::model::Finding) -> Option<PlanStep> {
    let sql: Vec<&PlanStep> = f.plan.iter().filter(|p| !p.sql.is_empty()).collect();
    let stage = sql.iter().map(|p| p.stage).min()?;
    let line = text.get(..f.span.start).map_or(0, |t| t.matches('\n').count()) + 1;
    // Each step's title up to its explanation (after `: `, and a parenthesis that cut opens).
    let what: Vec<&str> = sql
        .iter()
        .map(|p| {
            let t = p.title.split(": ").next().unwrap_or(&p.title);
            match t.rsplit_once(" (") {
                Some((head, _)) if t.matches('(').count() > t.matches(')').count() => head,
                _ => t,
            }
        })
        .collect();
    Some(PlanStep::new(
        sql_stage(stage),
        format!(
            "line {line}, inside the DO block ({}): the block runs as one piece, so its plan cannot stage this \
             statement; run the statement outside the block to stage it: {}",
            f.rule,
            what.join("; ")
        ),
        "",
    ))
}

/// `BEGIN` / `COMMIT` and the like: the plan's steps carry their own transactions.
pub fn is_transaction_control(sql: &str) -> bool {
    // At most two words, compared without an upper-cased copy of the statement (a plan
    // asks this of every statement it keeps as written, however long: issue 16).
    let mut words = sql.trim().trim_end_matches(';').split_whitespace();
    let (first, second) = (words.next().unwrap_or(""), words.next());
    if words.next().is_some() {
        return false;
    }
    let is = |w: &str, k: &str| w.eq_ignore_ascii_case(k);
    match second {
        None => ["BEGIN", "COMMIT", "END"].iter().any(|k| is(first, k)),
        Some(second) => {
            (is(first, "START") && is(second, "TRANSACTION"))
                || (["BEGIN", "COMMIT", "END"].iter().any(|k| is(first, k))
                    && ["TRANSACTION", "WORK"].iter().any(|k| is(second, k)))
        }
    }
}

/// Statements of the file that run as written, gathered until the next re-planned one.
struct AsWritten {
    stage: Stage,
    no_transaction: bool,
    sql: Vec<String>,
    summaries: Vec<String>,
}

impl AsWritten {
    fn step(self) -> PlanStep {
        let what = if self.summaries.len() == 1 { "statement" } else { "statements" };
        self.titled(&format!("the file's other {what}, as written"))
    }

    fn titled(self, title: &str) -> PlanStep {
        let n = self.summaries.len();
        let mut shown: Vec<String> = self.summaries.iter().take(3).cloned().collect();
        if n > 3 {
            shown.push(format!("… {} more", n - 3));
        }
        let mut step = PlanStep::new(self.stage, format!("{title}: {}", shown.join("; ")), self.sql.join("\n"));
        if self.no_transaction {
            step = step.no_transaction();
        }
        step
    }
}

/// Whether a statement's plan (its steps' SQL) carries out one action of a
/// multi-action `ALTER TABLE`.
fn action_covered(cmd: &crate::ir::AlterCmd, plan_sql: &str) -> bool {
    use crate::ir::AlterCmd as A;
    let has = |s: String| plan_sql.contains(&s);
    match cmd {
        A::AddColumn { column, .. } => {
            has(format!("ADD COLUMN {}", qi(&column.name)))
                || has(format!("ADD COLUMN IF NOT EXISTS {}", qi(&column.name)))
                // replace_column adds it beside the old one under its copy's name.
                || has(format!("ADD COLUMN {} ", qi(&copy_name(&column.name))))
        }
        A::DropColumn { column, .. } => has(format!("DROP COLUMN {}", qi(column))),
        A::AlterType { column, .. } => has(format!("ALTER COLUMN {} TYPE", qi(column))) || has(qi(&copy_name(column))),
        A::SetNotNull { column } => has(format!("ALTER COLUMN {} SET NOT NULL", qi(column))),
        A::SetDefault { column, .. } => has(format!("ALTER COLUMN {} SET DEFAULT", qi(column))),
        A::AddConstraint(spec) => match &spec.name {
            Some(n) => has(format!("ADD CONSTRAINT {}", qi(n))),
            None => plan_sql.contains("ADD CONSTRAINT"),
        },
        A::DropConstraint { name, .. } => has(format!("DROP CONSTRAINT {}", qi(name))),
        _ => false,
    }
}

/// Actions that run before a re-planned action of the same statement (they make
/// room for it: a column to add, a constraint or column to drop first). A column
/// the plan itself drops first is added after it (`DROP COLUMN x, ADD COLUMN x`).
fn action_goes_first(cmd: &crate::ir::AlterCmd, plan_sql: &str) -> bool {
    use crate::ir::AlterCmd as A;
    match cmd {
        A::AddColumn { column, .. } => !plan_sql.contains(&format!("DROP COLUMN {}", qi(&column.name))),
        A::DropColumn { .. } | A::DropConstraint { .. } | A::DropDefault { .. } | A::DropNotNull { .. } => true,
        _ => false,
    }
}

/// What makes a plan step a repeat: an instruction said once per file, a step with SQL
/// once per statement.
fn step_key(statement: usize, p: &PlanStep) -> (usize, &str, &str) {
    (if p.sql.is_empty() { usize::MAX } else { statement }, p.title.as_str(), p.sql.as_str())
}

fn sql_stage(s: Stage) -> Stage {
    if s == Stage::Deploy { Stage::Contract } else { s }
}

/// The plan of a whole file: a complete replacement of its statements. Every
/// statement appears, in file order within its stage: a statement a finding
/// re-plans as that plan's steps, every other one as written (consecutive ones
/// in one step, run the way the file runs them: in a transaction or not). A
/// statement's steps never go to an earlier stage than the steps of an earlier
/// statement on the same table (or of any earlier statement, when it names no
/// table), so the steps in order do what the file does. Statements of a goose
/// or dbmate Down section (`sectioned`) are never in the plan. A file where no
/// statement is re-planned with SQL keeps only the findings' instructions (no
/// plan when there are none).
pub fn file_plan(
    text: &str,
    statements: &[crate::model::StatementReport],
    findings: &[crate::model::Finding],
    sectioned: bool,
    ops: &[Option<&crate::ir::Op>],
) -> Vec<PlanStep> {
    use crate::model::Direction;
    use std::collections::{HashMap, HashSet};
    let up = |s: &crate::model::StatementReport| !sectioned || s.section != Some(Direction::Down);
    let down_start = statements.iter().filter(|s| !up(s)).map(|s| s.span.start).min();
    // Indexed by statement index (dense from 0), not hashed: a few lookups per statement
    // and finding, where SipHash cost more than the plan (issue 16).
    let n = statements.iter().map(|s| s.index + 1).max().unwrap_or(0);
    let mut up_index = vec![false; n];
    for s in statements.iter().filter(|s| up(s)) {
        up_index[s.index] = true;
    }
    let is_up = |i: usize| up_index.get(i).copied().unwrap_or(false);
    let op_at = |i: usize| ops.get(i).copied().flatten();
    let mut by_statement: Vec<Vec<&PlanStep>> = vec![Vec::new(); n];
    let mut file_level: Vec<&PlanStep> = Vec::new();
    // A DO block runs as one piece (its statements share PL/pgSQL variables and control
    // flow): the plans of the statements inside it cannot replace it, only advise. A
    // statement's SQL steps become one instruction that names them.
    let in_do_block = |i: usize| matches!(op_at(i), Some(crate::ir::Op::Do { .. }));
    let do_block_advice: Vec<(usize, PlanStep)> = findings
        .iter()
        .filter(|f| !f.ignored)
        .filter_map(|f| {
            let i = f.statement.filter(|i| is_up(*i) && in_do_block(*i))?;
            Some((i, do_block_step(text, f)?))
        })
        .collect();
    for f in findings.iter().filter(|f| !f.ignored) {
        match f.statement {
            Some(i) if is_up(i) && in_do_block(i) => by_statement[i].extend(f.plan.iter().filter(|p| p.sql.is_empty())),
            Some(i) if is_up(i) => by_statement[i].extend(&f.plan),
            Some(_) => {}
            None if down_start.is_some_and(|d| f.span.start >= d) => {}
            None => file_level.extend(&f.plan),
        }
    }
    for (i, p) in &do_block_advice {
        if let Some(v) = by_statement.get_mut(*i) {
            v.push(p);
        }
    }
    // Each step once: an instruction once per file, a step with SQL once per statement (a
    // file may repeat a statement, and its plan must repeat the steps: marquez V63 drops
    // and re-adds the same foreign key twice).
    // Ordered, not hashed: two steps' titles differ in their first bytes, where SipHash
    // read every byte of every step's SQL (issue 16).
    let mut seen: std::collections::BTreeSet<(usize, &str, &str)> = Default::default();
    let mut out: Vec<PlanStep> = Vec::new();
    let replaced = by_statement.iter().any(|v| v.iter().any(|p| !p.sql.is_empty()));
    if !replaced {
        for s in statements.iter().filter(|s| up(s)) {
            for p in &by_statement[s.index] {
                if seen.insert(step_key(s.index, p)) {
                    out.push((*p).clone());
                }
            }
        }
        for p in file_level {
            if seen.insert(step_key(usize::MAX, p)) {
                out.push(p.clone());
            }
        }
        out.sort_by_key(|p| p.stage);
        return out;
    }
    let mut latest = Stage::Expand;
    let mut table_stage: HashMap<String, Stage> = HashMap::new();
    let mut pending: Option<AsWritten> = None;
    // Statements a later statement's steps stand in for (a catalog-only form of both).
    let stood_in: HashSet<usize> = by_statement.iter().flatten().flat_map(|p| p.replaces.iter().copied()).collect();
    for s in statements.iter().filter(|s| up(s) && !stood_in.contains(&s.index)) {
        let mut tables: Vec<String> = s.effects.table.iter().cloned().collect();
        tables.extend(s.effects.other_locks.iter().map(|(t, _)| t.clone()));
        tables.extend(s.effects.creates.iter().cloned());
        // A DROP of what columns, triggers or defaults use (a sequence, a type, a function,
        // …) goes after every earlier statement's steps: until those have run (a type
        // change's swap, …), the old column may still use it.
        let drops_shared = matches!(
            op_at(s.index),
            Some(crate::ir::Op::Drop { kind, .. }) if !matches!(
                kind,
                ObjKind::Table | ObjKind::ForeignTable | ObjKind::Index | ObjKind::View | ObjKind::MaterializedView
                    | ObjKind::Trigger | ObjKind::Policy | ObjKind::Column | ObjKind::Constraint
            )
        );
        let floor = if tables.is_empty() || drops_shared {
            latest
        } else {
            tables.iter().filter_map(|t| table_stage.get(t)).copied().max().unwrap_or(Stage::Expand)
        };
        let steps: &[&PlanStep] = &by_statement[s.index];
        let mut last = floor;
        let end = s.span.end.min(text.len());
        let body = text.get(s.span.start..end).unwrap_or("").trim();
        let op = op_at(s.index);
        let dml = match op {
            Some(crate::ir::Op::Update { table, backup_query: Some(q), .. })
            | Some(crate::ir::Op::Delete { table, backup_query: Some(q), .. }) => Some((table, q)),
            _ => None,
        };
        let dml = dml.filter(|_| steps.iter().any(|p| !p.sql.is_empty()));
        if let Some((table, query)) = dml {
            // An alias, FROM, USING or WITH: the batched loops cannot take it; the change
            // runs as written, after a backup of exactly the rows it changes.
            if let Some(w) = pending.take() {
                out.push(w.step());
            }
            let stage = sql_stage(floor.max(Stage::Backfill));
            for p in steps.iter().filter(|p| p.sql.is_empty()) {
                if seen.insert(step_key(s.index, p)) {
                    let mut p = (*p).clone();
                    p.stage = p.stage.max(floor);
                    out.push(p);
                }
            }
            let backup = sibling(table, &format!("{}_backup_{}", table.name, short_hash(body)));
            out.push(
                PlanStep::new(
                    stage,
                    format!(
                        "back up the rows this {} (left on purpose: drop {backup} once the change is verified)",
                        if s.summary.starts_with("DELETE") { "deletes" } else { "changes" }
                    ),
                    format!("CREATE TABLE {backup} AS {query};"),
                )
                .lock(READS)
                .leaving(&backup),
            );
            let mut run = PlanStep::new(
                stage,
                format!(
                    "run the {} as written, outside the schema migration: its alias, FROM, USING or WITH keep it \
                     from being batched by key here, so it holds its row locks to the end",
                    s.summary
                ),
                if body.ends_with(';') { body.to_string() } else { format!("{body};") },
            )
            .lock("ROW EXCLUSIVE, row locks on every row it changes until it commits");
            if !s.in_transaction {
                run = run.no_transaction();
            }
            out.push(run);
            last = stage;
        } else if steps.iter().any(|p| !p.sql.is_empty()) {
            if let Some(w) = pending.take() {
                out.push(w.step());
            }
            // A multi-action ALTER TABLE: the actions the plan does not carry out, as written.
            let plan_sql = steps.iter().map(|p| p.sql.as_str()).collect::<Vec<_>>().join("\n");
            let (mut first, mut then) = (Vec::new(), Vec::new());
            if let Some(crate::ir::Op::AlterTable { cmds, action_sql, .. }) = op {
                // Every action's SQL, or none (as written only when each can be).
                let action_sql: Vec<String> =
                    (0..cmds.len()).map(|k| action_sql.get(&k.to_string())).collect::<Option<_>>().unwrap_or_default();
                for (cmd, sql) in cmds.iter().zip(&action_sql) {
                    if !action_covered(cmd, &plan_sql) {
                        if action_goes_first(cmd, &plan_sql) { first.push(sql.clone()) } else { then.push(sql.clone()) }
                    }
                }
            }
            let others = |stage: Stage, sql: Vec<String>| {
                let summaries = vec![s.summary.clone()];
                AsWritten { stage, no_transaction: !s.in_transaction, sql, summaries }
                    .titled("the statement's other actions, as written")
            };
            if !first.is_empty() {
                out.push(others(sql_stage(floor), first));
            }
            for &p in steps {
                if !seen.insert(step_key(s.index, p)) {
                    continue;
                }
                let mut p = p.clone();
                if p.stage < floor {
                    p.stage = if p.sql.is_empty() { floor } else { sql_stage(floor) };
                }
                // An instruction changes nothing in the database: it does not hold back
                // the later statements on the same tables.
                if !p.sql.is_empty() {
                    last = last.max(p.stage);
                }
                out.push(p);
            }
            if !then.is_empty() {
                out.push(others(sql_stage(last), then));
            }
        } else {
            for &p in steps {
                if seen.insert(step_key(s.index, p)) {
                    let mut p = p.clone();
                    p.stage = p.stage.max(floor);
                    out.push(p);
                }
            }
            if body.is_empty() || is_transaction_control(body) {
                continue;
            }
            let stage = sql_stage(floor);
            let no_transaction = !s.in_transaction;
            let mut sql = body.to_string();
            if !sql.ends_with(';') {
                sql.push(';');
            }
            match &mut pending {
                Some(w) if w.stage == stage && w.no_transaction == no_transaction => {
                    w.sql.push(sql);
                    w.summaries.push(s.summary.clone());
                }
                _ => {
                    if let Some(w) = pending.take() {
                        out.push(w.step());
                    }
                    pending =
                        Some(AsWritten { stage, no_transaction, sql: vec![sql], summaries: vec![s.summary.clone()] });
                }
            }
            last = stage;
        }
        for t in tables {
            let e = table_stage.entry(t).or_insert(last);
            *e = (*e).max(last);
        }
        latest = latest.max(last);
    }
    if let Some(w) = pending.take() {
        out.push(w.step());
    }
    for p in file_level {
        if seen.insert(step_key(usize::MAX, p)) {
            out.push(p.clone());
        }
    }
    out.sort_by_key(|p| p.stage);
    out
}

/// The key plans batch on: the table's primary key when the history knows it (one
/// column or several); empty when the history shows no key and no `id` column (the plans
/// then say so and do not batch); else `id`.
pub fn pk_of(schema: &Schema, table: &str) -> Key {
    let t = schema.table(table);
    if let Some(k) = t.and_then(|t| t.constraints.iter().find(|k| k.kind == ConstraintKind::PrimaryKey)) {
        return Key(k.columns.clone());
    }
    match t {
        Some(t) if !t.partial && t.column("id").is_none() => Key::default(),
        _ => Key::from("id"),
    }
}

/// The select list of a backup of `table`'s rows when `*` would make the backup depend
/// on an enum type of the history (a later DROP TYPE in the same migration would then
/// fail): every column, the enum-typed ones as text. None (`*`) when no column is an
/// enum or the history does not know all the columns.
pub fn backup_select(schema: &Schema, table: &str) -> Option<String> {
    let t = schema.table(table).filter(|t| !t.partial)?;
    let is_enum = |c: &crate::schema::Column| schema.enums.contains(&c.type_ref.name);
    if !t.columns.iter().any(is_enum) {
        return None;
    }
    let cols: Vec<String> = t
        .columns
        .iter()
        .map(|c| {
            let q = crate::ir::quote_ident(&c.name);
            if is_enum(c) { format!("{q}::text AS {q}") } else { q }
        })
        .collect();
    Some(cols.join(", "))
}

#[cfg(test)]
mod tests {
    use super::is_transaction_control;

    /// The word-by-word check answers as the upper-cased word list it replaced.
    #[test]
    fn transaction_control_words() {
        let upper = |sql: &str| {
            let body = sql.trim().trim_end_matches(';').trim().to_ascii_uppercase();
            let words: Vec<&str> = body.split_whitespace().collect();
            matches!(
                words.as_slice(),
                ["BEGIN"]
                    | ["COMMIT"]
                    | ["END"]
                    | ["START", "TRANSACTION"]
                    | ["BEGIN" | "COMMIT" | "END", "TRANSACTION" | "WORK"]
            )
        };
        let cases = [
            ("BEGIN", true),
            ("begin;", true),
            ("  Commit ;; ", true),
            ("END", true),
            ("start\ttransaction;", true),
            ("BEGIN WORK", true),
            ("commit transaction", true),
            ("END WORK;", true),
            ("START WORK", false),
            ("BEGIN ; ;", false),
            ("BEGIN TRANSACTION ISOLATION LEVEL SERIALIZABLE", false),
            ("ROLLBACK", false),
            ("", false),
            (";", false),
            ("CREATE TABLE t (id int)", false),
            ("begİn", false),
        ];
        for (sql, want) in cases {
            assert_eq!(is_transaction_control(sql), want, "{sql:?}");
            assert_eq!(upper(sql), want, "{sql:?} (old form)");
        }
    }
}
