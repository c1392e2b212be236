use super::*;

pub static RULE: Rule = Rule {
    id: "create-index-concurrently-if-not-exists",
    level: Level::Medium,
    summary: "CREATE INDEX CONCURRENTLY IF NOT EXISTS reports success over an index left invalid by an earlier failed build",
    doc: rule_doc!("create-index-concurrently-if-not-exists"),
    check: Check::Statement(check),
    session: false,
    tags: &[],
};

fn check(cx: &StmtCtx, out: &mut Vec<Hit>) {
    let Op::CreateIndex { name, table, concurrently: true, if_not_exists: true, .. } = cx.op else {
        return;
    };
    if cx.is_new(&table.name) {
        return;
    }
    out.push(Hit::new(
        format!("IF NOT EXISTS skips the build when an index named {} exists, even one left INVALID by a failed concurrent build", name.as_deref().unwrap_or("(unnamed)")),
        "Drop a possibly invalid index first (DROP INDEX CONCURRENTLY IF EXISTS) or check pg_index.indisvalid after the migration",
    ));
}
