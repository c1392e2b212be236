use super::*;

pub static RULE: Rule = Rule {
    id: "set-not-null",
    level: Level::High,
    summary: "SET NOT NULL scans the whole table under ACCESS EXCLUSIVE unless a validated CHECK (col IS NOT NULL) exists",
    doc: rule_doc!("set-not-null"),
    check: Check::Statement(check),
    session: false,
    tags: &[],
};

fn check(cx: &StmtCtx, out: &mut Vec<Hit>) {
    let Some((table, cmds)) = existing_alter_cmds(cx) else {
        return;
    };
    for cmd in cmds {
        let AlterCmd::SetNotNull { column } = cmd else {
            continue;
        };
        let t = cx.schema().table(&table.name);
        if t.and_then(|t| t.column(column)).is_some_and(|c| c.not_null) {
            continue;
        }
        if cx.pg() >= 12 && t.is_some_and(|t| t.has_valid_not_null_check(column)) {
            out.push(Hit::new(
                format!("SET NOT NULL on {table}.{column} uses the validated CHECK (IS NOT NULL) and skips the scan; it still takes a brief ACCESS EXCLUSIVE lock"),
                "Drop the helper CHECK constraint afterwards; run with a short lock_timeout",
            ).level(Level::Low));
            continue;
        }
        let pk = pk_of(cx.schema(), &table.name);
        let fill = cx.facts.fills.get(&(table.name.clone(), column.clone()));
        out.push(
            Hit::new(
                format!("SET NOT NULL on {table}.{column} scans every row while ACCESS EXCLUSIVE blocks reads and writes"),
                if cx.pg() >= 12 {
                    "Add CHECK (col IS NOT NULL) NOT VALID, VALIDATE it in its own transaction, then SET NOT NULL (no scan on PostgreSQL 12+)"
                } else {
                    "Before PostgreSQL 12 SET NOT NULL always scans: run it in a quiet window with a lock_timeout"
                },
            )
            .plan(plan::set_not_null(table, column, &pk, fill.map(String::as_str), cx.pg())),
        );
    }
}
