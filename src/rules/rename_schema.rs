use super::*;

pub static RULE: Rule = Rule {
    id: "rename-schema",
    level: Level::High,
    summary: "renaming a schema breaks every query that names it",
    doc: rule_doc!("rename-schema"),
    check: Check::Statement(check),
    session: false,
    tags: &[],
};

fn check(cx: &StmtCtx, out: &mut Vec<Hit>) {
    let Op::Rename { kind: ObjKind::Schema, object, new_name, .. } = cx.op else {
        return;
    };
    if cx.is_new(&object.name) {
        return;
    }
    out.push(Hit::new(
        format!("renaming schema {object} to {new_name} breaks every query and search_path that names {object}"),
        "Create the new schema, move objects and keep compatibility views, or rename only after every client uses the new name",
    ));
}
