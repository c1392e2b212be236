use super::*;

pub static RULE: Rule = Rule {
    id: "drop-schema",
    level: Level::VeryHigh,
    summary: "dropping a schema deletes every object and row in it",
    doc: rule_doc!("drop-schema"),
    check: Check::Statement(check),
    session: false,
    tags: &[],
};

fn check(cx: &StmtCtx, out: &mut Vec<Hit>) {
    let Op::Drop { kind: ObjKind::Schema, names, cascade, .. } = cx.op else {
        return;
    };
    for n in names.iter().filter(|n| !cx.is_new(&n.name)) {
        out.push(Hit::new(
            format!(
                "dropping schema {n}{} deletes its objects and their data",
                if *cascade { " with CASCADE" } else { "" }
            ),
            "Back up the schema (pg_dump --schema) and drop it only after nothing uses it",
        ));
    }
}
