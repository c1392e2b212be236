use super::*;

pub static RULE: Rule = Rule {
    id: "scan-while-holding-access-exclusive",
    level: Level::High,
    summary: "a scan or data change on a table already locked ACCESS EXCLUSIVE earlier in the same transaction keeps that lock for its whole duration",
    doc: rule_doc!("scan-while-holding-access-exclusive"),
    check: Check::Statement(check),
    session: false,
    tags: &[],
};

fn check(cx: &StmtCtx, out: &mut Vec<Hit>) {
    if !cx.tx.in_tx || cx.tx.access_exclusive.is_empty() {
        return;
    }
    let Some(t) = cx.effects.table.as_deref() else {
        return;
    };
    let heavy = cx.effects.scan
        || matches!(
            cx.op,
            Op::Update { .. }
                | Op::Delete { .. }
                | Op::Merge { .. }
                | Op::Insert { from_query: true, .. }
                | Op::Copy { from: true, .. }
        );
    if heavy && !cx.effects.rewrite && cx.tx.access_exclusive.iter().any(|x| x == t) && !cx.is_new(t) {
        out.push(Hit::new(
            format!("{} reads all of {t} while the ACCESS EXCLUSIVE lock taken earlier in this transaction is still held: reads and writes wait for it", cx.summary),
            "Commit the brief DDL first; run the scan (VALIDATE, backfill, index build) in its own transaction",
        ));
    }
}
