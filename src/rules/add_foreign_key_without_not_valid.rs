//! `add-foreign-key-without-not-valid`: ADD FOREIGN KEY without NOT VALID scans the table while blocking writes on both tables.

#[allow(unused_imports)]
use super::*;
#[allow(unused_imports)]
use crate::facts::{TypeChange, type_change};
#[allow(unused_imports)]
use crate::model::{Level, PlanStep, Stage};
#[allow(unused_imports)]
use crate::plan;

pub static RULE: Rule = Rule {
    id: "add-foreign-key-without-not-valid",
    level: Level::High,
    summary: "ADD FOREIGN KEY without NOT VALID scans the table while blocking writes on both tables",
    doc: rule_doc!("add-foreign-key-without-not-valid"),
    check: Check::Statement(check),
    session: false,
};

fn check(cx: &StmtCtx, out: &mut Vec<Hit>) {
    let Some((table, cmds)) = alter_cmds(cx.op) else {
        return;
    };
    if cx.is_new(&table.name) {
        return;
    }
    for cmd in cmds {
        if let AlterCmd::AddConstraint(spec) = cmd
            && spec.kind == ConstraintKind::ForeignKey
            && !spec.not_valid
        {
            let name = spec.name.clone().unwrap_or_else(|| crate::schema::default_constraint_name(&table.name, spec));
            let target = spec.references.as_ref().map(|r| r.table.to_string()).unwrap_or_default();
            out.push(
                Hit::new(
                    Level::High,
                    format!("adding foreign key {name} scans {table} while SHARE ROW EXCLUSIVE blocks writes to {table} and {target}"),
                    "Add it NOT VALID, then VALIDATE CONSTRAINT in a separate transaction",
                )
                .plan(plan::constraint_not_valid(table, cx.sql, &name, true)),
            );
        }
    }
}
