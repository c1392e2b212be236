use super::*;

pub static RULE: Rule = Rule {
    id: "statements-after-access-exclusive-lock",
    level: Level::Low,
    summary: "more statements run after an ACCESS EXCLUSIVE lock in the same transaction, holding the lock longer",
    doc: rule_doc!("statements-after-access-exclusive-lock"),
    check: Check::File(check),
    session: true,
    tags: &[],
};

fn check(cx: &FileCtx, out: &mut Vec<Hit>) {
    let mut reported = std::collections::HashSet::new();
    let runs = |n: &StmtRecord| n.op.as_ref().is_some_and(|o| !matches!(o, Op::Transaction(_) | Op::Set { .. }));
    // transaction = "all-pending": the earlier pending files' ACCESS EXCLUSIVE locks are
    // still held when this file starts; reported once, on the file's first statement.
    if let Some((t, taker)) = cx.held.first()
        && let Some(first) = cx.statements.iter().find(|n| n.in_tx && runs(n))
    {
        reported.insert(first.tx_id);
        let more = match cx.held.len() {
            1 => String::new(),
            n => format!(" (and {} more table(s))", n - 1),
        };
        out.push(
            Hit::new(
                format!("the ACCESS EXCLUSIVE lock on {t} taken by {taker}{more} is still held while this file runs: transaction = \"all-pending\" applies every pending file in one transaction"),
                "Put the file that takes ACCESS EXCLUSIVE last among the pending files, or deploy it on its own",
            )
            .at(first.index),
        );
    }
    for (i, s) in cx.statements.iter().enumerate() {
        if !s.in_tx || reported.contains(&s.tx_id) {
            continue;
        }
        let Some((t, _)) =
            s.effects.all_locks().find(|(t, m)| *m == LockMode::AccessExclusive && !cx.new_objects_before(s, t))
        else {
            continue;
        };
        if let Some(next) = cx.statements[i + 1..].iter().find(|n| n.tx_id == s.tx_id && runs(n)) {
            reported.insert(s.tx_id);
            out.push(
                Hit::new(
                    format!("the ACCESS EXCLUSIVE lock on {t} taken by statement {} is held while statement {} and the rest of the transaction run", s.index + 1, next.index + 1),
                    "Put the statement that takes ACCESS EXCLUSIVE last in its transaction, or in a transaction of its own",
                )
                .at(next.index),
            );
        }
    }
}
