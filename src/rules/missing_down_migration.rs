use super::*;

pub static RULE: Rule = Rule {
    id: "missing-down-migration",
    level: Level::Medium,
    summary: "an up migration graded medium or worse has no down migration, where the project's layout has them",
    doc: rule_doc!("missing-down-migration"),
    check: Check::File(check),
    session: false,
    tags: &[],
};

fn check(cx: &FileCtx, out: &mut Vec<Hit>) {
    // The driver only calls this for up files graded medium or worse.
    if cx.direction == Direction::Up
        && cx.has_down == Some(true)
        && let Some(down) = cx.empty_down
    {
        out.push(Hit::new(
            format!("{} has no rollback: its down migration {down} holds only comments", cx.path),
            "Write the down migration that undoes this change (or state in the file why it cannot be undone and ignore this finding)",
        ));
    } else if cx.direction == Direction::Up && cx.has_down == Some(false) {
        out.push(Hit::new(
            format!("{} has no down migration: there is no tested rollback for a risky change", cx.path),
            "Add the matching down migration (the source documents' rule: NN_name_up.sql with NN_name_down.sql)",
        ));
    }
}
