use super::*;

pub static RULE: Rule = Rule {
    id: "change-column-type",
    level: Level::High,
    summary: "changing a column's type rewrites the table (or at least takes ACCESS EXCLUSIVE) and can break running code",
    doc: rule_doc!("change-column-type"),
    check: Check::Statement(check),
    session: false,
    tags: &[],
};

fn check(cx: &StmtCtx, out: &mut Vec<Hit>) {
    let Some((table, cmds)) = existing_alter_cmds(cx) else {
        return;
    };
    for cmd in cmds {
        let AlterCmd::AlterType { column, new_type, using, using_sql, collation } = cmd else {
            continue;
        };
        let known = cx.schema().table(&table.name).and_then(|t| t.column(column));
        let old = known.map(|c| &c.type_ref);
        let tc = type_change(old, new_type, using.as_ref(), collation.as_deref(), cx.pg(), cx.facts.utc);
        let from = old.map(|t| format!(" from {}", t.display)).unwrap_or_default();
        let (level, message) = match &tc {
            TypeChange::NoRewrite => (
                Level::Medium,
                format!(
                    "changing {table}.{column}{from} to {} needs no rewrite, but takes a brief ACCESS EXCLUSIVE lock",
                    new_type.display
                ),
            ),
            // No rewrite, but the column's indexes are rebuilt: high when it has (or may
            // have) indexes; medium when the history knows the whole table and none exist.
            TypeChange::IndexRebuild(why) => {
                let fully_known = cx.schema().table(&table.name).is_some_and(|t| !t.partial);
                if fully_known && cx.schema().indexes_on(&table.name, column).is_empty() {
                    (
                        Level::Medium,
                        format!(
                            "changing {table}.{column}{from} to {}: no rewrite and no index on the column, a brief ACCESS EXCLUSIVE lock",
                            new_type.display
                        ),
                    )
                } else {
                    (
                        Level::High,
                        format!(
                            "changing {table}.{column}{from} to {}: {why}, under ACCESS EXCLUSIVE",
                            new_type.display
                        ),
                    )
                }
            }
            TypeChange::Truncating(f) => (
                Level::VeryHigh,
                format!(
                    "changing {table}.{column}{from} to {} with USING {f} cuts values that do not fit: data loss",
                    new_type.display
                ),
            ),
            TypeChange::Unknown => (
                Level::High,
                format!(
                    "changing {table}.{column} to {} rewrites the table under ACCESS EXCLUSIVE (the old type is not known from earlier migrations, so a rewrite is assumed)",
                    new_type.display
                ),
            ),
            TypeChange::Rewrite => {
                let narrowing = matches!((old.map(|t| t.name.as_str()), new_type.name.as_str()), (Some("varchar" | "text"), "varchar") if !new_type.mods.is_empty());
                (
                    Level::High,
                    format!(
                        "changing {table}.{column}{from} to {} rewrites the table and its indexes under ACCESS EXCLUSIVE{}",
                        new_type.display,
                        if narrowing { "; values that do not fit make it fail" } else { "" }
                    ),
                )
            }
        };
        let plan = if tc == TypeChange::NoRewrite {
            vec![]
        } else {
            let info = plan::ColumnInfo {
                using: using.as_ref().and(using_sql.clone()),
                collation: collation.clone(),
                ..plan::ColumnInfo::from_schema(cx.schema(), &table.name, column, cx.pg())
            };
            plan::change_column_type(table, column, &new_type.display, &info)
        };
        out.push(
            Hit::new(
                message,
                if tc == TypeChange::NoRewrite {
                    "Run it with a short lock_timeout so a waiting lock does not block the queue behind it"
                } else {
                    "Add a new column of the new type, sync and backfill it in batches, switch the code, then swap the columns"
                },
            ).level(level)
            .plan(plan),
        );
    }
}
