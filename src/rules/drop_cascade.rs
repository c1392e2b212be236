//! `drop-cascade`: DROP ... CASCADE silently drops every dependent object (views, constraints, defaults).

#[allow(unused_imports)]
use super::*;
#[allow(unused_imports)]
use crate::facts::{TypeChange, type_change};
#[allow(unused_imports)]
use crate::model::{Level, PlanStep, Stage};
#[allow(unused_imports)]
use crate::plan;

pub static RULE: Rule = Rule {
    id: "drop-cascade",
    level: Level::High,
    summary: "DROP ... CASCADE silently drops every dependent object (views, constraints, defaults)",
    doc: rule_doc!("drop-cascade"),
    check: Check::Statement(check),
    session: false,
    tags: &[],
};

fn check(cx: &StmtCtx, out: &mut Vec<Hit>) {
    match cx.op {
        Op::Drop { kind, names, cascade: true, .. } if names.iter().any(|n| !cx.is_new(&n.name)) => {
            out.push(Hit::new(
                Level::High,
                format!(
                    "DROP {} ... CASCADE also drops every object that depends on it, without listing them",
                    kind.sql()
                ),
                "Drop the dependent objects explicitly, so the migration says what it removes",
            ));
        }
        Op::Truncate { cascade: true, tables } if tables.iter().any(|t| !cx.is_new(&t.name)) => {
            out.push(Hit::new(
                Level::High,
                "TRUNCATE ... CASCADE also empties every table with a foreign key to it".to_string(),
                "Truncate the referencing tables explicitly, after backing them up",
            ));
        }
        Op::AlterTable { table, cmds, .. } if !cx.is_new(&table.name) => {
            for cmd in cmds {
                match cmd {
                    AlterCmd::DropColumn { column, cascade: true } => out.push(Hit::new(
                        Level::High,
                        format!("DROP COLUMN {column} CASCADE also drops views and constraints that use it"),
                        "Drop the dependent objects explicitly first",
                    )),
                    AlterCmd::DropConstraint { name, cascade: true } => out.push(Hit::new(
                        Level::High,
                        format!("DROP CONSTRAINT {name} CASCADE also drops foreign keys that depend on it"),
                        "Drop the dependent constraints explicitly first",
                    )),
                    _ => {}
                }
            }
        }
        _ => {}
    }
}
