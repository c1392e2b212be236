use super::*;

pub static RULE: Rule = Rule {
    id: "alter-domain-add-constraint",
    level: Level::High,
    summary: "ALTER DOMAIN ... ADD CONSTRAINT checks every column of that domain while blocking writes to each table",
    doc: rule_doc!("alter-domain-add-constraint"),
    check: Check::Statement(check),
    session: false,
    tags: &[],
};

fn check(cx: &StmtCtx, out: &mut Vec<Hit>) {
    let Op::AlterDomainAddConstraint { name, not_valid: false } = cx.op else {
        return;
    };
    if cx.is_new(&name.name) {
        return;
    }
    out.push(Hit::new(
        format!(
            "{} on domain {name} scans every table that uses the domain under a SHARE lock (writes blocked)",
            cx.summary
        ),
        "Add the domain constraint NOT VALID; validating it still scans under SHARE, so run that in a quiet window",
    ));
}
