use super::*;

pub static RULE: Rule = Rule {
    id: "concurrently-in-transaction",
    level: Level::High,
    summary: "CONCURRENTLY cannot run inside a transaction block: the migration fails",
    doc: rule_doc!("concurrently-in-transaction"),
    check: Check::Statement(check),
    session: false,
    tags: &[],
};

fn check(cx: &StmtCtx, out: &mut Vec<Hit>) {
    let Some(tag) = cx.refuses_transaction else {
        return;
    };
    if !tag.contains("CONCURRENTLY") || !cx.tx.in_tx {
        return;
    }
    let why = if cx.tx.wrapped {
        "the migration tool runs this file in a transaction"
    } else {
        "it is inside BEGIN ... COMMIT or a DO block"
    };
    out.push(Hit::new(
        format!("{tag} cannot run inside a transaction block ({why}): the migration fails"),
        "Put it in its own migration that runs outside a transaction (e.g. golang-migrate: one statement per file; goose: -- +goose NO TRANSACTION; Flyway: executeInTransaction=false)",
    ));
}
