use super::*;

pub static RULE: Rule = Rule {
    id: "refresh-materialized-view",
    level: Level::High,
    summary: "REFRESH MATERIALIZED VIEW without CONCURRENTLY blocks reads of the view for the whole refresh",
    doc: rule_doc!("refresh-materialized-view"),
    check: Check::Statement(check),
    session: false,
    tags: &[],
};

fn check(cx: &StmtCtx, out: &mut Vec<Hit>) {
    let Op::RefreshMatView { name, concurrently: false } = cx.op else {
        return;
    };
    if cx.is_new(&name.name) {
        return;
    }
    out.push(Hit::new(
        format!("REFRESH MATERIALIZED VIEW {name} holds ACCESS EXCLUSIVE for the whole refresh: every read of the view waits"),
        "Use REFRESH MATERIALIZED VIEW CONCURRENTLY (needs a unique index on the view)",
    ));
}
