use super::*;

pub static RULE: Rule = Rule {
    id: "update-without-where",
    level: Level::VeryHigh,
    summary: "an UPDATE without WHERE rewrites every row of an existing table in one transaction",
    doc: rule_doc!("update-without-where"),
    check: Check::Statement(check),
    session: false,
    tags: &[],
};

fn check(cx: &StmtCtx, out: &mut Vec<Hit>) {
    let Op::Update { table, has_where: false, set_sql, set_columns, set_values, .. } = cx.op else {
        return;
    };
    if cx.is_new(&table.name) {
        return;
    }
    let pk = pk_of(cx.schema(), &table.name);
    let backup = backup_select(cx.schema(), &table.name);
    // Only columns added earlier in this file: a backfill (RISK-MODEL, Data), `high`.
    if let Some(cols) = super::data_transformation::fills_only_new_columns(cx, &table.name, set_columns) {
        // One column set to a constant right after its ADD COLUMN: the constant can be the
        // column's default when it is added (catalog-only), the file's default set after.
        if let Some((value, added_at, column)) = constant_for_new_column(cx, &table.name, set_values) {
            out.push(
                Hit::new(
                    format!("UPDATE of every row of {table} sets {}, added by statement {} of this file, to the constant {value}: one transaction with row locks on the whole table, where adding the column with {value} as its default and then setting the file's default is catalog-only", column.name, added_at + 1),
                    format!("Add the column with DEFAULT {value}, then ALTER COLUMN {} SET DEFAULT to the file's default (or DROP DEFAULT): no rewrite, no backfill", column.name),
                ).level(Level::High)
                .plan(plan::add_column_with_value(table, column, value, added_at)),
            );
            return;
        }
        out.push(
            Hit::new(
                format!("UPDATE of every row of {table} fills {}, added earlier in this file: a backfill (no existing value is overwritten), but one transaction with row locks on the whole table, table bloat, a long-running migration", cols.join(", ")),
                "Batch the backfill by primary key in a separate data migration after the schema deploy, one transaction per batch",
            ).level(Level::High)
            .plan(plan::large_update_for(table, &pk, set_sql.as_deref(), None, backup.as_deref(), cx.pg())),
        );
        return;
    }
    out.push(
        Hit::new(
            format!("UPDATE of every row of {table} in one transaction: row locks on the whole table, table bloat, a long-running migration"),
            "Batch the update by primary key outside the schema migration, one transaction per batch, and back up the rows first",
        )
        .plan(plan::large_update_for(table, &pk, set_sql.as_deref(), None, backup.as_deref(), cx.pg())),
    );
}

/// `UPDATE t SET c = <constant>` of a column that an ALTER TABLE of its own added earlier
/// in the file (a plain column: no identity, generated value, key, CHECK or foreign key;
/// a non-volatile default or none), with no statement on `t` in between: (the constant,
/// the ADD COLUMN's statement index, the column). PostgreSQL 11+ (catalog-only defaults).
fn constant_for_new_column<'a>(
    cx: &'a StmtCtx,
    table: &str,
    set_values: &'a [SetValue],
) -> Option<(&'a str, usize, &'a ColumnSpec)> {
    let [SetValue { column, sql: Some(value), constant: true }] = set_values else {
        return None;
    };
    let (added_at, spec) = cx.facts.added_alone.get(&(table.to_string(), column.clone()))?;
    let plain = spec.is_plain();
    let nothing_between = cx.facts.touched.get(table) == Some(added_at);
    (cx.pg() >= 11 && plain && nothing_between).then_some((value.as_str(), *added_at, spec))
}

#[cfg(test)]
mod tests {
    use crate::model::Level;
    use crate::rules::test_support::after_history;

    #[test]
    fn filling_a_column_added_in_the_file_is_a_high_backfill() {
        let history = "CREATE TABLE users (id bigint PRIMARY KEY, name text);\n";
        let f = after_history(
            history,
            "ALTER TABLE users ADD COLUMN active boolean;\nUPDATE users SET active = name IS NOT NULL;\n",
            &["update-without-where"],
        );
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].1, Level::High);
        assert!(f[0].2.contains("a backfill"), "{}", f[0].2);
        let f = after_history(history, "UPDATE users SET name = 'x';\n", &["update-without-where"]);
        assert_eq!(f[0].1, Level::VeryHigh, "{f:?}");
    }

    #[test]
    fn a_constant_right_after_its_add_column_has_the_catalog_only_form() {
        let history = "CREATE TABLE users (id bigint PRIMARY KEY, name text);\n";
        let f = after_history(
            history,
            "ALTER TABLE users ADD COLUMN plan text NOT NULL DEFAULT 'free';\nUPDATE users SET plan = 'legacy';\n",
            &["update-without-where"],
        );
        assert!(f.len() == 1 && f[0].2.contains("to the constant 'legacy'"), "{f:?}");
        // Something else on users in between, a non-constant value, a WHERE: the backfill plan.
        for sql in [
            "ALTER TABLE users ADD COLUMN plan text DEFAULT 'free';\nCREATE INDEX users_plan ON users (plan);\nUPDATE users SET plan = 'legacy';\n",
            "ALTER TABLE users ADD COLUMN plan text DEFAULT 'free';\nUPDATE users SET plan = name;\n",
            "ALTER TABLE users ADD COLUMN plan text DEFAULT 'free', ADD COLUMN x int;\nUPDATE users SET plan = 'legacy';\n",
        ] {
            let f = after_history(history, sql, &["update-without-where"]);
            assert!(f.len() == 1 && f[0].2.contains("a backfill"), "{sql}: {f:?}");
        }
    }
}
