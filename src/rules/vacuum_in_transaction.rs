use super::*;

pub static RULE: Rule = Rule {
    id: "vacuum-in-transaction",
    level: Level::High,
    summary: "VACUUM (and other statements that refuse a transaction block) inside a transaction fails",
    doc: rule_doc!("vacuum-in-transaction"),
    check: Check::Statement(check),
    session: false,
    tags: &[],
};

fn check(cx: &StmtCtx, out: &mut Vec<Hit>) {
    let Some(tag) = cx.refuses_transaction else {
        return;
    };
    if tag.contains("CONCURRENTLY") || !cx.tx.in_tx {
        return;
    }
    out.push(Hit::new(
        format!("{tag} cannot run inside a transaction block: the migration fails"),
        "Run it outside the migration's transaction, or drop it from the migration",
    ));
}
