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
    let Op::Update { table, has_where: false, set_sql, .. } = cx.op else {
        return;
    };
    if cx.is_new(&table.name) {
        return;
    }
    let pk = pk_of(cx.schema(), &table.name);
    out.push(
        Hit::new(
            Level::VeryHigh,
            format!("UPDATE of every row of {table} in one transaction: row locks on the whole table, table bloat, a long-running migration"),
            "Batch the update by primary key outside the schema migration, one transaction per batch, and back up the rows first",
        )
        .plan(plan::large_update_for(table, &pk, set_sql.as_deref(), None, cx.pg())),
    );
}
