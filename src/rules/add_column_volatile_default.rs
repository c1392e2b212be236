//! `add-column-volatile-default`: a column with a volatile default (random(), nextval, serial, identity) rewrites the whole table under ACCESS EXCLUSIVE.

#[allow(unused_imports)]
use super::*;
#[allow(unused_imports)]
use crate::facts::{TypeChange, type_change};
#[allow(unused_imports)]
use crate::model::{Level, PlanStep, Stage};
#[allow(unused_imports)]
use crate::plan;

pub static RULE: Rule = Rule {
    id: "add-column-volatile-default",
    level: Level::High,
    summary: "a column with a volatile default (random(), nextval, serial, identity) rewrites the whole table under ACCESS EXCLUSIVE",
    doc: rule_doc!("add-column-volatile-default"),
    check: Check::Statement(check),
    session: false,
    tags: &[],
};

fn check(cx: &StmtCtx, out: &mut Vec<Hit>) {
    let Some((table, cmds)) = alter_cmds(cx.op) else {
        return;
    };
    if cx.is_new(&table.name) {
        return;
    }
    for cmd in cmds {
        let AlterCmd::AddColumn { column, .. } = cmd else {
            continue;
        };
        let why = if column.type_ref.is_serial() {
            Some(format!("{} fills every existing row from a sequence", column.type_ref.name))
        } else if column.identity {
            Some("an identity column fills every existing row from a sequence".to_string())
        } else if let Some(DefaultKind::Volatile(f)) = &column.default {
            Some(format!("the volatile default {f} is evaluated for every existing row"))
        } else if cx.pg() < 11 && matches!(column.default, Some(DefaultKind::NonVolatile)) {
            Some(format!("before PostgreSQL 11 any non-NULL default rewrites the table (target: {})", cx.pg()))
        } else {
            None
        };
        if let Some(why) = why {
            let pk = pk_of(cx.schema(), &table.name);
            let c = crate::ir::quote_ident(&column.name);
            let plan = vec![
                PlanStep::new(
                    Stage::Expand,
                    format!("add {table}.{c} with no default"),
                    format!("{LOCK_TIMEOUT}\nALTER TABLE {table} ADD COLUMN {c} {};", plain_type(&column.type_ref)),
                )
                .lock("ACCESS EXCLUSIVE (brief, catalog only)"),
                PlanStep::new(
                    Stage::Expand,
                    "set the default for new rows only",
                    format!(
                        "{LOCK_TIMEOUT}\nALTER TABLE {table} ALTER COLUMN {c} SET DEFAULT <the default expression>;"
                    ),
                )
                .lock("ACCESS EXCLUSIVE (brief, catalog only)"),
                PlanStep::new(
                    Stage::Backfill,
                    "fill existing rows in batches",
                    plan::batched_update(table, &pk, &format!("{c} = DEFAULT"), Some(&format!("{c} IS NULL"))),
                )
                .no_transaction(),
            ];
            out.push(
                Hit::new(
                    Level::High,
                    format!("adding {table}.{} rewrites the table under an ACCESS EXCLUSIVE lock: {why}", column.name),
                    "Add the column without the default, set the default for new rows, and backfill existing rows in batches",
                )
                .plan(plan),
            );
        }
    }
}

fn plain_type(t: &crate::ir::TypeRef) -> String {
    match t.name.as_str() {
        "serial" | "serial4" => "integer".into(),
        "bigserial" | "serial8" => "bigint".into(),
        "smallserial" | "serial2" => "smallint".into(),
        _ => t.display.clone(),
    }
}
