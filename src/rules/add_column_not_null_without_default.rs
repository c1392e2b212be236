use super::*;

pub static RULE: Rule = Rule {
    id: "add-column-not-null-without-default",
    level: Level::High,
    summary: "ADD COLUMN ... NOT NULL without a default fails on a table that has rows",
    doc: rule_doc!("add-column-not-null-without-default"),
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
        let has_value = matches!(
            column.default,
            Some(DefaultKind::NonVolatile | DefaultKind::Volatile(_) | DefaultKind::UserFunctions(_))
        ) || column.identity
            || column.type_ref.is_serial()
            || column.generated_stored
            || column.generated_virtual;
        if column.not_null && !has_value {
            let pk = pk_of(cx.schema(), &table.name);
            let hit = Hit::new(
                format!(
                    "adding {table}.{} as NOT NULL without a default fails as soon as the table has a row",
                    column.name
                ),
                "Add the column nullable (or with a constant DEFAULT), backfill it in batches, then enforce NOT NULL with a validated CHECK",
            );
            // `DROP COLUMN x, ADD COLUMN x ...`: drop-column plans the replacement as a whole;
            // an inline PRIMARY KEY: add-column-with-unique plans the column and its NOT NULL.
            out.push(if replaced_column(cmds, &column.name).is_some() || column.primary_key {
                hit
            } else {
                hit.plan(plan::add_not_null_column(table, &column.name, &column.type_ref.display, None, &pk, cx.pg()))
            });
        }
    }
}
