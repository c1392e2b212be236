use super::*;

pub static RULE: Rule = Rule {
    id: "table-rebuild",
    level: Level::High,
    summary: "a table renamed away, recreated under its old name and refilled by a copy is rebuilt under locks, or loses the rows written during the copy",
    doc: rule_doc!("table-rebuild"),
    check: Check::Statement(check),
    session: false,
    tags: &[],
};

fn check(cx: &StmtCtx, out: &mut Vec<Hit>) {
    let Some(r) = rebuild_from_rename(cx) else {
        return;
    };
    let (t, old) = (&r.table, &r.old);
    let bound = format!(
        "views, foreign keys and triggers that use {t} stay bound to the old table (PostgreSQL links them by oid) and keep reading and writing {old}"
    );
    let hit = if r.one_tx {
        let drop =
            if r.dropped { format!(", and DROP TABLE {old} fails while they depend on it") } else { String::new() };
        Hit::new(
            format!(
                "this file rebuilds table {t} (RENAME TO {old}, CREATE TABLE {t}, INSERT ... SELECT FROM {old}): the old name keeps working, but the rename's ACCESS EXCLUSIVE lock on the old table is held through the copy of every row, so every read and write of {t} waits for the whole copy; {bound}{drop}"
            ),
            "Change the table in place, or rebuild it online: create the new table beside the old one, copy in batches while triggers or the code write both, switch the code, then drop the old table in a later migration",
        )
    } else {
        let lost = if r.dropped {
            format!("are not copied and are deleted with DROP TABLE {old}")
        } else {
            format!("are not copied and stay behind in {old}")
        };
        Hit::new(
            format!(
                "this file rebuilds table {t} (RENAME TO {old}, CREATE TABLE {t}, INSERT ... SELECT FROM {old}) outside one transaction: queries on {t} fail between the rename and the CREATE, the copy holds no lock that stops writes to {old}, so rows written to it during and after the copy {lost}; {bound}"
            ),
            "Run the rename, the create, the copy and the drop in one transaction (it then blocks the table for the copy), or rebuild online: create the new table beside the old one, copy in batches while triggers or the code write both, switch the code, then drop the old table in a later migration",
        ).level(Level::VeryHigh)
    };
    out.push(match online_plan(cx, &r) {
        Some(plan) => hit.plan(plan),
        None => hit,
    });
}

/// The online rebuild (plan::table_rebuild) when the file's statements give everything it
/// needs: the CREATE deparsed under another name, a new table whose primary key the copy
/// fills, a copy that reads only the old table and can be applied to one row at a time
/// (no aggregate, window, DISTINCT, GROUP BY, LIMIT or volatile function), and a key of
/// the old table to copy its rows in batches.
fn online_plan(cx: &StmtCtx, r: &Rebuild) -> Option<Vec<crate::model::PlanStep>> {
    let Op::Rename { object, .. } = cx.op else {
        return None;
    };
    let later = |at: usize| cx.later.iter().nth(at.checked_sub(cx.index + 1)?).flatten();
    let Some(Op::CreateTable { columns: new_columns, constraints, copy_sql, .. }) = later(r.create_at) else {
        return None;
    };
    let create_sql = copy_sql.sql()?;
    let Some(Op::Insert { columns, row_query: Some(q), upsert: false, .. }) = later(r.copy_at) else {
        return None;
    };
    let (Some(row_new), Some(row_old)) = (q.new_sql.as_deref(), q.old_sql.as_deref()) else {
        return None;
    };
    if q.source.name != r.old {
        return None;
    }
    let new_key: Vec<String> = match constraints.iter().find(|k| k.kind == ConstraintKind::PrimaryKey) {
        Some(k) => k.columns.clone(),
        None => new_columns.iter().filter(|c| c.primary_key).map(|c| c.name.clone()).collect(),
    };
    // Without a column list the query fills the table's first columns (with `*`: as many
    // as the old table has, which the history may not know; then no plan).
    let columns: Vec<String> = match (columns.is_empty(), q.targets) {
        (false, _) => columns.clone(),
        (true, Some(n)) => new_columns.iter().take(n).map(|c| c.name.clone()).collect(),
        (true, None) => return None,
    };
    if new_key.is_empty() || !new_key.iter().all(|k| columns.contains(k)) {
        return None;
    }
    // Without a key to batch on, the copy is not planned (a plan that skipped it would
    // swap in an empty table).
    let old_key = plan::pk_of(cx.schema(), &r.table);
    if old_key.is_empty() {
        return None;
    }
    Some(plan::table_rebuild(&plan::Rebuild {
        table: object,
        old: &r.old,
        create_sql: &create_sql,
        columns: &columns,
        new_key: &new_key,
        row_new,
        row_old,
        old_key: &old_key,
        create_at: r.create_at,
        copy_at: r.copy_at,
        drop_at: r.drop_at,
        pg_version: cx.pg(),
    }))
}

#[cfg(test)]
mod tests {
    use crate::lint::{Settings, lint_unit};
    use crate::model::{Direction, Level};
    use crate::schema::Schema;
    use crate::unit::{TxWrap, Unit};

    const HISTORY: &str = "CREATE TABLE events (id bigint PRIMARY KEY, kind text, payload text);\n";
    const REBUILD: &str = "ALTER TABLE events RENAME TO events_old;\n\
        CREATE TABLE events (id bigint PRIMARY KEY, kind text NOT NULL, payload jsonb);\n\
        INSERT INTO events (id, kind, payload) SELECT id, kind, payload::jsonb FROM events_old;\n\
        DROP TABLE events_old;\n";

    /// (rule, level, message) of every finding of the file after HISTORY.
    fn lint(sql: &str, tx: TxWrap) -> Vec<(String, Level, String)> {
        let mut schema = Schema::default();
        let settings = Settings::default();
        lint_unit(&Unit::plain("0001_history.sql", HISTORY, Direction::Up, TxWrap::Never), &mut schema, &settings);
        let report = lint_unit(&Unit::plain("0002_test.sql", sql, Direction::Up, tx), &mut schema, &settings);
        report.findings.iter().map(|f| (f.rule.to_string(), f.level, f.message.clone())).collect()
    }

    fn rules(f: &[(String, Level, String)]) -> Vec<&str> {
        f.iter().map(|x| x.0.as_str()).filter(|r| *r != "missing-lock-timeout").collect()
    }

    #[test]
    fn a_rebuild_in_one_transaction_is_high_not_a_breaking_rename_nor_a_drop() {
        let f = lint(REBUILD, TxWrap::Always);
        let r: Vec<_> = f.iter().filter(|x| x.0 == "table-rebuild").collect();
        assert_eq!(r.len(), 1, "{f:?}");
        assert_eq!(r[0].1, Level::High);
        assert!(r[0].2.contains("held through the copy of every row"), "{}", r[0].2);
        for gone in ["rename-table", "drop-table", "mixed-expand-contract"] {
            assert!(!rules(&f).contains(&gone), "{gone}: {f:?}");
        }
    }

    #[test]
    fn a_rebuild_statement_by_statement_loses_the_rows_written_during_the_copy() {
        let f = lint(REBUILD, TxWrap::Never);
        let r: Vec<_> = f.iter().filter(|x| x.0 == "table-rebuild").collect();
        assert_eq!(r.len(), 1, "{f:?}");
        assert_eq!(r[0].1, Level::VeryHigh);
        assert!(r[0].2.contains("are not copied and are deleted with DROP TABLE events_old"), "{}", r[0].2);
        // A COMMIT between the rename and the copy ends the lock too.
        let sql = format!("BEGIN;\n{}", REBUILD.replacen(";\n", ";\nCOMMIT;\nBEGIN;\n", 1)) + "COMMIT;\n";
        let f = lint(&sql, TxWrap::Never);
        assert_eq!(f.iter().filter(|x| x.0 == "table-rebuild" && x.1 == Level::VeryHigh).count(), 1, "{f:?}");
    }

    #[test]
    fn a_rebuild_gets_an_online_plan_that_stands_in_for_the_create_the_copy_and_the_drop() {
        let mut schema = Schema::default();
        let settings = Settings::default();
        lint_unit(&Unit::plain("0001_history.sql", HISTORY, Direction::Up, TxWrap::Never), &mut schema, &settings);
        let report =
            lint_unit(&Unit::plain("0002_test.sql", REBUILD, Direction::Up, TxWrap::Always), &mut schema, &settings);
        let f = report.findings.iter().find(|f| f.rule == "table-rebuild").expect("finding");
        let sql: Vec<&str> = f.plan.iter().map(|p| p.sql.as_str()).collect();
        assert!(sql[0].starts_with("CREATE TABLE events_new ("), "{sql:?}");
        assert!(sql[1].contains("FROM (SELECT new.*) events_old"), "{sql:?}");
        assert!(sql.iter().any(|s| s.contains("ALTER TABLE events_new RENAME TO events;")), "{sql:?}");
        let replaced: Vec<usize> = f.plan.iter().flat_map(|p| p.replaces.iter().copied()).collect();
        assert_eq!(replaced, vec![1, 2, 3]);
        // A copy that joins another table cannot be applied to one row: no plan.
        let join = REBUILD.replace("FROM events_old;", "FROM events_old JOIN kinds USING (kind);");
        let report =
            lint_unit(&Unit::plain("0003_test.sql", join, Direction::Up, TxWrap::Always), &mut schema, &settings);
        let f = report.findings.iter().find(|f| f.rule == "table-rebuild").expect("finding");
        assert!(f.plan.is_empty(), "{:?}", f.plan);
    }

    #[test]
    fn a_rename_without_the_copy_is_still_a_rename() {
        let sql = "ALTER TABLE events RENAME TO events_old;\nCREATE TABLE events (id bigint PRIMARY KEY);\n";
        let f = lint(sql, TxWrap::Always);
        assert!(rules(&f).contains(&"rename-table"), "{f:?}");
        assert!(!rules(&f).contains(&"table-rebuild"), "{f:?}");
        // A copy from some other table is not this table's rebuild.
        let sql = "ALTER TABLE events RENAME TO events_old;\nCREATE TABLE events (id bigint);\nINSERT INTO events SELECT id FROM other;\n";
        assert!(!rules(&lint(sql, TxWrap::Always)).contains(&"table-rebuild"));
    }

    #[test]
    fn a_copy_back_after_a_rename_in_an_earlier_file_is_no_rebuild_and_its_drop_loses_rows() {
        // An earlier file renamed events away; this one recreates it, copies and drops the old
        // table: rows written to events_old since the earlier file are deleted.
        let mut schema = Schema::default();
        let settings = Settings::default();
        let up = format!("{HISTORY}ALTER TABLE events RENAME TO events_old;\n");
        lint_unit(&Unit::plain("0001_history.sql", up, Direction::Up, TxWrap::Never), &mut schema, &settings);
        let sql = "CREATE TABLE events (id bigint PRIMARY KEY);\nINSERT INTO events SELECT id FROM events_old;\nDROP TABLE events_old;\n";
        let report =
            lint_unit(&Unit::plain("0002_test.sql", sql, Direction::Up, TxWrap::Always), &mut schema, &settings);
        let rules: Vec<_> = report.findings.iter().map(|f| f.rule).collect();
        assert!(rules.contains(&"drop-table"), "{rules:?}");
        assert!(!rules.contains(&"table-rebuild"), "{rules:?}");
    }
}
