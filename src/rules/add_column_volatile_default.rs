use super::*;

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
    let Some((table, cmds)) = existing_alter_cmds(cx) else {
        return;
    };
    for cmd in cmds {
        let AlterCmd::AddColumn { column, .. } = cmd else {
            continue;
        };
        if let Some(why) = fill_reason(cx, column) {
            let plan = filled_plan(cx, table, column);
            out.push(
                Hit::new(
                    format!("adding {table}.{} rewrites the table under an ACCESS EXCLUSIVE lock: {why}", column.name),
                    "Add the column without the default, set the default for new rows, and backfill existing rows in batches",
                )
                .plan(plan),
            );
        }
    }
}

/// Why adding `column` to an existing table evaluates its value for every row (None:
/// it does not).
pub(super) fn fill_reason(cx: &StmtCtx, column: &crate::ir::ColumnSpec) -> Option<String> {
    if column.type_ref.is_serial() {
        Some(format!("{} fills every existing row from a sequence", column.type_ref.name))
    } else if column.identity {
        Some("an identity column fills every existing row from a sequence".to_string())
    } else if let Some(f) = column.default.as_ref().and_then(|d| crate::facts::volatile_default(d, cx.schema())) {
        Some(format!("the volatile default {f} is evaluated for every existing row"))
    } else if cx.pg() < 11 && matches!(column.default, Some(DefaultKind::NonVolatile | DefaultKind::UserFunctions(_))) {
        Some(format!("before PostgreSQL 11 any non-NULL default rewrites the table (target: {})", cx.pg()))
    } else {
        None
    }
}

/// The whole replacement of the column's ADD COLUMN (also its inline key's plan, so the
/// two findings plan the same steps and the column is added once).
pub(super) fn filled_plan(cx: &StmtCtx, table: &crate::ir::QName, column: &crate::ir::ColumnSpec) -> Vec<PlanStep> {
    let pk = pk_of(cx.schema(), &table.name);
    plan::add_column_filled(cx.schema(), table, column, &pk, &plan::table_triggers(cx.schema(), &table.name), cx.pg())
}
