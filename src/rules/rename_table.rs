use super::*;

pub static RULE: Rule = Rule {
    id: "rename-table",
    level: Level::High,
    summary: "renaming a table breaks running code that still uses the old name",
    doc: rule_doc!("rename-table"),
    check: Check::Statement(check),
    session: false,
    tags: &[],
};

fn check(cx: &StmtCtx, out: &mut Vec<Hit>) {
    let Op::Rename { kind, object, new_name, .. } = cx.op else {
        return;
    };
    if !matches!(kind, ObjKind::Table | ObjKind::View | ObjKind::MaterializedView) || cx.is_new(&object.name) {
        return;
    }
    // Renamed away and recreated under its old name with its rows copied: the old name
    // keeps working; table-rebuild reports what the rebuild does instead.
    if rebuild_from_rename(cx).is_some() {
        return;
    }
    out.push(
        Hit::new(
            format!(
                "renaming {} {object} to {new_name} breaks every running query that still uses {object}",
                kind.sql().to_lowercase()
            ),
            "Rename it and leave a view under the old name until every deploy uses the new one",
        )
        .plan(if *kind == ObjKind::Table { plan::rename_table(object, new_name) } else { vec![] }),
    );
}
