use super::*;

pub static RULE: Rule = Rule {
    id: "data-transformation",
    level: Level::VeryHigh,
    summary: "UPDATE, DELETE, MERGE or INSERT ... SELECT into an existing table changes production data",
    doc: rule_doc!("data-transformation"),
    check: Check::Statement(check),
    session: false,
    tags: &[],
};

fn check(cx: &StmtCtx, out: &mut Vec<Hit>) {
    // COPY ... FROM only adds rows: a backfill (RISK-MODEL, Data: `high`), it never
    // overwrites or removes existing values.
    if let Op::Copy { table: Some(table), from: true } = cx.op {
        if !cx.is_new(&table.name) {
            out.push(Hit::new(
                format!("COPY ... FROM loads rows into the existing table {table}: a backfill (existing rows are not changed), one long write in the deploy whose rows stay locked until commit"),
                "Load the data in a separate data migration after the schema deploy, in batches; delete the loaded rows to undo it",
            ).level(Level::High));
        }
        return;
    }
    if let Some(h) = backfill(cx) {
        out.push(h);
        return;
    }
    let (table, what) = match cx.op {
        Op::Update { table, has_where: true, .. } => (table, "UPDATE"),
        Op::Delete { table, has_where: true, .. } => (table, "DELETE"),
        Op::Merge { table } => (table, "MERGE"),
        Op::Insert { table, from_query: true, .. } => (table, "INSERT ... SELECT ... ON CONFLICT DO UPDATE"),
        _ => return,
    };
    if cx.is_new(&table.name) {
        return;
    }
    let pk = pk_of(cx.schema(), &table.name);
    let backup = backup_select(cx.schema(), &table.name);
    let plan = match cx.op {
        Op::Update { set_sql, where_sql, .. } => {
            plan::large_update_for(table, &pk, set_sql.as_deref(), where_sql.as_deref(), backup.as_deref(), cx.pg())
        }
        Op::Delete { where_sql, .. } => {
            plan::large_delete_for(table, &pk, where_sql.as_deref(), backup.as_deref(), cx.pg())
        }
        _ => vec![],
    };
    out.push(
        Hit::new(
            format!("{what} changes data in the existing table {table}: a data migration that cannot be undone without a backup"),
            "Back up the affected rows, review the change, and run it in batches outside the schema migration",
        )
        .plan(plan),
    );
}

/// The columns of an UPDATE's SET, when every one was added to `table` earlier in the file.
pub(crate) fn fills_only_new_columns<'a>(cx: &StmtCtx, table: &str, set_columns: &'a [String]) -> Option<&'a [String]> {
    (!set_columns.is_empty() && set_columns.iter().all(|c| cx.facts.is_new_column(table, c))).then_some(set_columns)
}

/// The columns of an UPDATE's SET, when its WHERE restricts every one to `IS NULL`
/// (filling NULLs, all at once or in one bounded batch).
fn fills_only_nulls<'a>(set_columns: &'a [String], where_null_columns: &[String]) -> Option<&'a [String]> {
    (!set_columns.is_empty() && set_columns.iter().all(|c| where_null_columns.contains(c))).then_some(set_columns)
}

/// A data change into an existing table that cannot lose existing values (RISK-MODEL,
/// Data): an UPDATE with a WHERE that only fills NULLs (every SET column restricted to
/// `IS NULL`) or only fills columns added earlier in the file,
/// an INSERT ... SELECT without ON CONFLICT DO UPDATE. `high`, never "data loss".
fn backfill(cx: &StmtCtx) -> Option<Hit> {
    match cx.op {
        Op::Update { table, has_where: true, set_columns, where_null_columns, set_sql, where_sql, .. }
            if !cx.is_new(&table.name) =>
        {
            // The same batched plan as any UPDATE (its backup step is a precaution here).
            let pk = pk_of(cx.schema(), &table.name);
            let backup = backup_select(cx.schema(), &table.name);
            let plan = plan::large_update_for(
                table,
                &pk,
                set_sql.as_deref(),
                where_sql.as_deref(),
                backup.as_deref(),
                cx.pg(),
            );
            if let Some(cols) = fills_only_nulls(set_columns, where_null_columns) {
                return Some(Hit::new(
                    format!(
                        "UPDATE fills NULLs of {} in the existing table {table} (its WHERE keeps only rows where they are NULL): a backfill (no existing value is overwritten), one write of every matching row whose row locks are held until commit",
                        cols.join(", ")
                    ),
                    "Run the backfill in batches in a separate data migration after the schema deploy",
                ).level(Level::High).plan(plan));
            }
            let cols = fills_only_new_columns(cx, &table.name, set_columns)?;
            Some(Hit::new(
                format!(
                    "UPDATE fills {}, added to the existing table {table} earlier in this file: a backfill (no existing value is overwritten), one write of every matching row whose row locks are held until commit",
                    cols.join(", ")
                ),
                "Run the backfill in batches in a separate data migration after the schema deploy; setting the columns back to NULL undoes it",
            ).level(Level::High).plan(plan))
        }
        Op::Insert { table, from_query: true, upsert: false, .. } if !cx.is_new(&table.name) => Some(Hit::new(
            format!(
                "INSERT ... SELECT adds rows to the existing table {table}: a backfill (existing rows are not changed), one long write in the deploy"
            ),
            "Copy the rows in batches in a separate data migration after the schema deploy; deleting the inserted rows undoes it",
        ).level(Level::High)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use crate::model::Level;
    use crate::rules::test_support::after_history;

    const HISTORY: &str =
        "CREATE TABLE users (id bigint PRIMARY KEY, name text);\nCREATE TABLE old_users (id bigint, name text);\n";

    #[test]
    fn update_filling_columns_added_in_the_file_is_a_backfill() {
        let f = after_history(
            HISTORY,
            "ALTER TABLE users ADD COLUMN slug text;\nUPDATE users SET slug = lower(name) WHERE id > 0;\n",
            &["data-transformation"],
        );
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].1, Level::High);
        assert!(f[0].2.contains("a backfill") && !f[0].2.contains("backup"), "{}", f[0].2);
        // Also writing a column that existed before: a data transformation.
        let f = after_history(
            HISTORY,
            "ALTER TABLE users ADD COLUMN slug text;\nUPDATE users SET slug = lower(name), name = upper(name) WHERE id > 0;\n",
            &["data-transformation"],
        );
        assert_eq!(f[0].1, Level::VeryHigh, "{f:?}");
        // A column of the same name added to another table does not count.
        let f = after_history(
            HISTORY,
            "ALTER TABLE old_users ADD COLUMN slug text;\nUPDATE users SET slug = 'x' WHERE id > 0;\n",
            &["data-transformation"],
        );
        assert_eq!(f[0].1, Level::VeryHigh, "{f:?}");
    }

    #[test]
    fn update_filling_nulls_is_a_backfill_even_in_a_bounded_batch() {
        for sql in [
            "UPDATE users SET name = 'x' WHERE name IS NULL;\n",
            "UPDATE users SET name = 'x' WHERE id IN (SELECT id FROM users WHERE name IS NULL LIMIT 5000) AND name IS NULL;\n",
            "UPDATE users SET name = 'x' WHERE id IN (SELECT id FROM users WHERE name IS NULL ORDER BY id LIMIT 5000);\n",
        ] {
            let f = after_history(HISTORY, sql, &["data-transformation"]);
            assert_eq!(f.len(), 1, "{f:?}");
            assert_eq!(f[0].1, Level::High, "{sql}");
            assert!(f[0].2.contains("fills NULLs of name") && !f[0].2.contains("backup"), "{}", f[0].2);
        }
        // NULL only under OR, another column, a subquery of another table or key: may overwrite values.
        for sql in [
            "UPDATE users SET name = 'x' WHERE name IS NULL OR id = 1;\n",
            "UPDATE users SET name = 'x' WHERE id IS NULL;\n",
            "UPDATE users SET name = 'x' WHERE id IN (SELECT id FROM old_users WHERE name IS NULL LIMIT 5000);\n",
            "UPDATE users SET name = 'x' WHERE id IN (SELECT other_id FROM users WHERE name IS NULL LIMIT 5000);\n",
            "UPDATE users SET name = 'x' WHERE id NOT IN (SELECT id FROM users WHERE name IS NULL);\n",
        ] {
            let f = after_history(HISTORY, sql, &["data-transformation"]);
            assert_eq!(f[0].1, Level::VeryHigh, "{sql}: {f:?}");
        }
    }

    #[test]
    fn update_from_a_limited_subquery_of_nulls_is_a_bounded_backfill_batch() {
        for sql in [
            "UPDATE users u SET name = 'x' FROM (SELECT id FROM users WHERE name IS NULL ORDER BY id LIMIT 5000) b WHERE u.id = b.id;\n",
            "UPDATE users AS u SET name = 'x' FROM (SELECT id FROM users WHERE name IS NULL LIMIT 5000) AS b WHERE b.id = u.id AND u.id > 0;\n",
            "UPDATE users SET name = 'x' FROM (SELECT id FROM users WHERE name IS NULL LIMIT 5000) b WHERE users.id = b.id;\n",
        ] {
            let f = after_history(HISTORY, sql, &["data-transformation"]);
            assert_eq!(f.len(), 1, "{f:?}");
            assert_eq!(f[0].1, Level::High, "{sql}");
            assert!(f[0].2.contains("fills NULLs of name") && !f[0].2.contains("backup"), "{}", f[0].2);
        }
        // A batch that may overwrite values, a join on another key or table, no join: very-high.
        for sql in [
            "UPDATE users u SET name = 'x' FROM (SELECT id FROM users ORDER BY id LIMIT 5000) b WHERE u.id = b.id;\n",
            "UPDATE users u SET name = 'x' FROM (SELECT id FROM users WHERE name IS NULL LIMIT 5000) b WHERE u.id > b.id;\n",
            "UPDATE users u SET name = 'x' FROM (SELECT id FROM old_users WHERE name IS NULL LIMIT 5000) b WHERE u.id = b.id;\n",
            "UPDATE users u SET name = 'x' FROM (SELECT id FROM users WHERE name IS NULL LIMIT 5000) b WHERE u.id = b.id OR true;\n",
        ] {
            let f = after_history(HISTORY, sql, &["data-transformation"]);
            assert_eq!(f[0].1, Level::VeryHigh, "{sql}: {f:?}");
        }
    }

    #[test]
    fn insert_select_into_an_existing_table_is_a_backfill_unless_it_upserts() {
        let f =
            after_history(HISTORY, "INSERT INTO users (name) SELECT name FROM old_users;\n", &["data-transformation"]);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].1, Level::High);
        assert!(f[0].2.contains("a backfill") && !f[0].2.contains("backup"), "{}", f[0].2);
        let f = after_history(
            HISTORY,
            "INSERT INTO users (id, name) SELECT id, name FROM old_users ON CONFLICT (id) DO UPDATE SET name = excluded.name;\n",
            &["data-transformation"],
        );
        assert_eq!(f[0].1, Level::VeryHigh, "{f:?}");
    }
}
