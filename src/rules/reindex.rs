use super::*;

pub static RULE: Rule = Rule {
    id: "reindex",
    level: Level::High,
    summary: "REINDEX without CONCURRENTLY holds ACCESS EXCLUSIVE on the index, blocking reads that plan with it",
    doc: rule_doc!("reindex"),
    check: Check::Statement(check),
    session: false,
    tags: &[],
};

fn check(cx: &StmtCtx, out: &mut Vec<Hit>) {
    let Op::Reindex { kind, name, concurrently } = cx.op else {
        return;
    };
    if cx.is_new(&name.name) {
        return;
    }
    if *concurrently {
        out.push(Hit::new(
            format!("REINDEX {} {name} CONCURRENTLY rebuilds while reads and writes continue; a failure leaves an invalid _ccnew index", kind.sql()),
            "Check for leftover invalid indexes (indisvalid = false) after it runs",
        ).level(Level::Medium));
    } else {
        out.push(Hit::new(
            format!("REINDEX {} {name} holds ACCESS EXCLUSIVE on the index(es) and SHARE on the table: reads that use them and all writes wait for the rebuild", kind.sql()),
            if cx.pg() >= 12 { "Use REINDEX ... CONCURRENTLY outside a transaction" } else { "Rebuild with CREATE INDEX CONCURRENTLY + DROP INDEX CONCURRENTLY + rename (REINDEX CONCURRENTLY needs PostgreSQL 12)" },
        ));
    }
}
