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
        let why = if column.type_ref.is_serial() {
            Some(format!("{} fills every existing row from a sequence", column.type_ref.name))
        } else if column.identity {
            Some("an identity column fills every existing row from a sequence".to_string())
        } else if let Some(f) = column.default.as_ref().and_then(|d| crate::facts::volatile_default(d, cx.schema())) {
            Some(format!("the volatile default {f} is evaluated for every existing row"))
        } else if cx.pg() < 11
            && matches!(column.default, Some(DefaultKind::NonVolatile | DefaultKind::UserFunctions(_)))
        {
            Some(format!("before PostgreSQL 11 any non-NULL default rewrites the table (target: {})", cx.pg()))
        } else {
            None
        };
        if let Some(why) = why {
            let pk = pk_of(cx.schema(), &table.name);
            let default_sql = &column.default_sql;
            let plan = plan::add_column_with_default(
                table,
                &column.name,
                &column.type_ref.without_serial(),
                default_sql.as_deref(),
                column.not_null,
                &pk,
                &plan::table_triggers(cx.schema(), &table.name),
                cx.pg(),
            );
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
