//! `update-without-where`: an UPDATE without WHERE rewrites every row of an existing table in one transaction.

#[allow(unused_imports)]
use super::*;
#[allow(unused_imports)]
use crate::facts::{TypeChange, type_change};
#[allow(unused_imports)]
use crate::model::{Level, PlanStep, Stage};
#[allow(unused_imports)]
use crate::plan;

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
    let Op::Update { table, has_where: false, set_sql, set_columns, .. } = cx.op else {
        return;
    };
    if cx.is_new(&table.name) {
        return;
    }
    let pk = pk_of(cx.schema(), &table.name);
    // Only columns added earlier in this file: a backfill (RISK-MODEL, Data), `high`.
    if let Some(cols) = super::data_transformation::fills_only_new_columns(cx, &table.name, set_columns) {
        out.push(
            Hit::new(
                Level::High,
                format!("UPDATE of every row of {table} fills {}, added earlier in this file: a backfill (no existing value is overwritten), but one transaction with row locks on the whole table, table bloat, a long-running migration", cols.join(", ")),
                "Batch the backfill by primary key in a separate data migration after the schema deploy, one transaction per batch",
            )
            .plan(plan::large_update_for(table, &pk, set_sql.as_deref(), None, cx.pg())),
        );
        return;
    }
    out.push(
        Hit::new(
            Level::VeryHigh,
            format!("UPDATE of every row of {table} in one transaction: row locks on the whole table, table bloat, a long-running migration"),
            "Batch the update by primary key outside the schema migration, one transaction per batch, and back up the rows first",
        )
        .plan(plan::large_update_for(table, &pk, set_sql.as_deref(), None, cx.pg())),
    );
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
            "ALTER TABLE users ADD COLUMN active boolean;\nUPDATE users SET active = true;\n",
            &["update-without-where"],
        );
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].1, Level::High);
        assert!(f[0].2.contains("a backfill"), "{}", f[0].2);
        let f = after_history(history, "UPDATE users SET name = 'x';\n", &["update-without-where"]);
        assert_eq!(f[0].1, Level::VeryHigh, "{f:?}");
    }
}
