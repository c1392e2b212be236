//! `drop-column`: dropping a column deletes its data and breaks code that still uses it.

#[allow(unused_imports)]
use super::*;
#[allow(unused_imports)]
use crate::facts::{TypeChange, type_change};
#[allow(unused_imports)]
use crate::model::{Level, PlanStep, Stage};
#[allow(unused_imports)]
use crate::plan;

pub static RULE: Rule = Rule {
    id: "drop-column",
    level: Level::VeryHigh,
    summary: "dropping a column deletes its data and breaks code that still uses it",
    doc: rule_doc!("drop-column"),
    check: Check::Statement(check),
    session: false,
    tags: &[],
};

fn check(cx: &StmtCtx, out: &mut Vec<Hit>) {
    let Some((table, cmds)) = existing_alter_cmds(cx) else {
        return;
    };
    for cmd in cmds {
        if let AlterCmd::DropColumn { column, .. } = cmd {
            out.push(
                Hit::new(
                    Level::VeryHigh,
                    format!("dropping column {table}.{column} deletes its data and breaks code that still reads or writes it"),
                    "Deploy code that no longer uses the column first, back it up, then drop it in a contract migration",
                )
                .plan(plan::drop_column(table, column, &pk_of(cx.schema(), &table.name))),
            );
        }
    }
}
