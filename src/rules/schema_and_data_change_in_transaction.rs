//! `schema-and-data-change-in-transaction`: a schema change and a data change on existing tables in the same transaction hold DDL locks for the whole data change.

#[allow(unused_imports)]
use super::*;
#[allow(unused_imports)]
use crate::facts::{TypeChange, type_change};
#[allow(unused_imports)]
use crate::model::{Level, PlanStep, Stage};
#[allow(unused_imports)]
use crate::plan;

pub static RULE: Rule = Rule {
    id: "schema-and-data-change-in-transaction",
    level: Level::VeryHigh,
    summary: "a schema change and a data change on existing tables in the same transaction hold DDL locks for the whole data change",
    doc: rule_doc!("schema-and-data-change-in-transaction"),
    check: Check::Statement(check),
    session: false,
    tags: &[],
};

fn check(cx: &StmtCtx, out: &mut Vec<Hit>) {
    if !cx.tx.in_tx {
        return;
    }
    let is_dml = matches!(
        cx.op,
        Op::Update { .. }
            | Op::Delete { .. }
            | Op::Merge { .. }
            | Op::Insert { from_query: true, .. }
            | Op::Copy { from: true, .. }
    ) && cx.effects.table.as_deref().is_some_and(|t| !cx.is_new(t));
    let is_ddl = is_schema_change(cx);
    let earlier = if is_dml {
        cx.tx.ddl_at.map(|i| (i, "schema change"))
    } else if is_ddl {
        cx.tx.dml_at.map(|i| (i, "data change"))
    } else {
        None
    };
    if let Some((i, what)) = earlier {
        out.push(
            Hit::new(
                Level::VeryHigh,
                format!("this {} runs in the same transaction as the {what} of statement {}: locks taken by either are held until both finish", if is_dml { "data change" } else { "schema change" }, i + 1),
                "Split them: the schema change in its own short migration, the data change in a separate batched one",
            )
            .plan(plan::split_schema_and_data()),
        );
    }
}

/// A statement that changes the schema of an existing table.
pub(crate) fn is_schema_change(cx: &StmtCtx) -> bool {
    match cx.op {
        Op::AlterTable { table, .. } => !cx.is_new(&table.name),
        Op::Drop { kind: ObjKind::Table | ObjKind::Index, names, .. } => names.iter().any(|n| !cx.is_new(&n.name)),
        Op::CreateIndex { table, .. } => !cx.is_new(&table.name),
        Op::Rename { object, .. } => !cx.is_new(&object.name),
        _ => false,
    }
}
