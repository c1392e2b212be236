use super::*;

pub static RULE: Rule = Rule {
    id: "lock-table-outside-transaction",
    level: Level::High,
    summary: "LOCK TABLE outside a transaction block fails: PostgreSQL refuses it",
    doc: rule_doc!("lock-table-outside-transaction"),
    check: Check::Statement(check),
    session: false,
    tags: &[],
};

fn check(cx: &StmtCtx, out: &mut Vec<Hit>) {
    let Op::Lock { tables, .. } = cx.op else {
        return;
    };
    if cx.tx.in_tx {
        return;
    }
    let names: Vec<String> = tables.iter().map(ToString::to_string).collect();
    out.push(Hit::new(
        format!(
            "LOCK TABLE {} runs outside a transaction block: PostgreSQL refuses it (\"LOCK TABLE can only be used in transaction blocks\") and the migration fails",
            names.join(", ")
        ),
        "Put it in the migration's transaction (BEGIN ... COMMIT, or a layout that wraps the file), before the statements it protects",
    ));
}
