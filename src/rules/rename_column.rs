//! `rename-column`: renaming a column breaks running code that still uses the old name.

#[allow(unused_imports)]
use super::*;
#[allow(unused_imports)]
use crate::facts::{TypeChange, type_change};
#[allow(unused_imports)]
use crate::model::{Level, PlanStep, Stage};
#[allow(unused_imports)]
use crate::plan;

pub static RULE: Rule = Rule {
    id: "rename-column",
    level: Level::High,
    summary: "renaming a column breaks running code that still uses the old name",
    doc: rule_doc!("rename-column"),
    check: Check::Statement(check),
    session: false,
    tags: &[],
};

fn check(cx: &StmtCtx, out: &mut Vec<Hit>) {
    let Op::Rename { kind: ObjKind::Column, object, column: Some(old), new_name } = cx.op else {
        return;
    };
    if cx.is_new(&object.name) {
        return;
    }
    let indexes = cx.schema().indexes_on(&object.name, old);
    let idx_note = if indexes.is_empty() {
        String::new()
    } else {
        format!("; indexes using it: {}", indexes.iter().map(|i| i.name.as_str()).collect::<Vec<_>>().join(", "))
    };
    out.push(
        Hit::new(
            Level::High,
            format!("renaming {object}.{old} to {new_name} breaks every running query that still uses {old}{idx_note}"),
            "Add the new column beside the old one, keep them in sync, switch the code, then drop the old column",
        )
        .plan(plan::rename_column(
            object,
            old,
            new_name,
            &plan::ColumnInfo::from_schema(cx.schema(), &object.name, old, cx.pg()),
        )),
    );
}
