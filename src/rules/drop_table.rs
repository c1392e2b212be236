//! `drop-table`: dropping a table deletes its data and breaks code that still uses it.

#[allow(unused_imports)]
use super::*;
#[allow(unused_imports)]
use crate::facts::{TypeChange, type_change};
#[allow(unused_imports)]
use crate::model::{Level, PlanStep, Stage};
#[allow(unused_imports)]
use crate::plan;

pub static RULE: Rule = Rule {
    id: "drop-table",
    level: Level::VeryHigh,
    summary: "dropping a table deletes its data and breaks code that still uses it",
    doc: rule_doc!("drop-table"),
    check: Check::Statement(check),
    session: false,
    tags: &[],
};

fn check(cx: &StmtCtx, out: &mut Vec<Hit>) {
    let Op::Drop { kind: ObjKind::Table | ObjKind::ForeignTable, names, .. } = cx.op else {
        return;
    };
    for n in names.iter().filter(|n| !cx.is_new(&n.name)) {
        out.push(
            Hit::new(
                Level::VeryHigh,
                format!("dropping table {n} deletes all its rows and breaks code that still reads or writes it"),
                "Stop using the table in a deploy first, back it up, and drop it in a later contract migration",
            )
            .plan(plan::drop_table(n)),
        );
    }
}
