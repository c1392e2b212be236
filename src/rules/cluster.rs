use super::*;

pub static RULE: Rule = Rule {
    id: "cluster",
    level: Level::High,
    summary: "CLUSTER rewrites the table in index order under ACCESS EXCLUSIVE",
    doc: rule_doc!("cluster"),
    check: Check::Statement(check),
    session: false,
    tags: &[],
};

fn check(cx: &StmtCtx, out: &mut Vec<Hit>) {
    let Op::Cluster { table } = cx.op else { return };
    if table.as_ref().is_some_and(|t| cx.is_new(&t.name)) {
        return;
    }
    let t = table.as_ref().map(|t| t.to_string()).unwrap_or_else(|| "every clustered table".into());
    out.push(Hit::new(
        format!("CLUSTER rewrites {t} under ACCESS EXCLUSIVE: reads and writes wait for the whole rewrite"),
        "Use pg_repack to reorder a table online, or run CLUSTER in a maintenance window",
    ));
}
