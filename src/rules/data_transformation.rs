//! `data-transformation`: UPDATE, DELETE, MERGE or INSERT ... SELECT into an existing table changes production data.

#[allow(unused_imports)]
use super::*;
#[allow(unused_imports)]
use crate::facts::{TypeChange, type_change};
#[allow(unused_imports)]
use crate::model::{Level, PlanStep, Stage};
#[allow(unused_imports)]
use crate::plan;

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
                Level::High,
                format!("COPY ... FROM loads rows into the existing table {table}: a backfill (existing rows are not changed), one long write in the deploy whose rows stay locked until commit"),
                "Load the data in a separate data migration after the schema deploy, in batches; delete the loaded rows to undo it",
            ));
        }
        return;
    }
    let (table, what) = match cx.op {
        Op::Update { table, has_where: true, .. } => (table, "UPDATE"),
        Op::Delete { table, has_where: true, .. } => (table, "DELETE"),
        Op::Merge { table } => (table, "MERGE"),
        Op::Insert { table, from_query: true, .. } => (table, "INSERT ... SELECT"),
        _ => return,
    };
    if cx.is_new(&table.name) {
        return;
    }
    let pk = pk_of(cx.schema(), &table.name);
    let plan = match cx.op {
        Op::Update { set_sql, where_sql, .. } => {
            plan::large_update_for(table, &pk, set_sql.as_deref(), where_sql.as_deref(), cx.pg())
        }
        Op::Delete { where_sql, .. } => plan::large_delete_for(table, &pk, where_sql.as_deref(), cx.pg()),
        _ => vec![],
    };
    out.push(
        Hit::new(
            Level::VeryHigh,
            format!("{what} changes data in the existing table {table}: a data migration that cannot be undone without a backup"),
            "Back up the affected rows, review the change, and run it in batches outside the schema migration",
        )
        .plan(plan),
    );
}
