use super::*;

pub static RULE: Rule = Rule {
    id: "stage-name-mismatch",
    level: Level::Medium,
    summary: "the file's name says stage 1 (add_, create_) but it drops or renames, or says stage 2 (drop_, remove_) but it adds",
    doc: rule_doc!("stage-name-mismatch"),
    check: Check::File(check),
    session: false,
    tags: &[],
};

fn check(cx: &FileCtx, out: &mut Vec<Hit>) {
    if cx.direction != Direction::Up {
        return;
    }
    let name = cx.name.to_ascii_lowercase();
    let stage1 = name.starts_with("add_")
        || name.starts_with("create_")
        || name.starts_with("add-")
        || name.starts_with("create-");
    let stage2 = name.starts_with("drop_")
        || name.starts_with("remove_")
        || name.starts_with("drop-")
        || name.starts_with("remove-");
    if stage1 && let Some(s) = cx.statements.iter().find(|s| super::mixed_expand_contract::is_contract(s, cx)) {
        out.push(Hit::new(
            format!("the name '{}' says stage 1 (schema add), but statement {} drops or renames an existing object", cx.name, s.index + 1),
            "Move the drop or rename to a separate stage-2 migration (drop_*/remove_*) that runs after the code deploy",
        ).at(s.index));
    }
    if stage2 && let Some(s) = cx.statements.iter().find(|s| super::mixed_expand_contract::is_expand(s)) {
        out.push(
            Hit::new(
                format!(
                    "the name '{}' says stage 2 (field remove), but statement {} adds to the schema",
                    cx.name,
                    s.index + 1
                ),
                "Move the addition to a stage-1 migration (add_*/create_*) that runs before the code deploy",
            )
            .at(s.index),
        );
    }
}
