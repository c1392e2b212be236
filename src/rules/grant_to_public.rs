use super::*;
use crate::model::Level;

pub static RULE: Rule = Rule {
    id: "grant-to-public",
    level: Level::Medium,
    summary: "GRANT ... TO PUBLIC, GRANT ALL, or default privileges granting ALL give more access than needed",
    doc: rule_doc!("grant-to-public"),
    check: Check::Statement(grant),
    session: false,
    tags: &["security"],
};

fn grant(cx: &StmtCtx, out: &mut Vec<Hit>) {
    let (public, all) = match cx.op {
        Op::Grant { is_grant: true, to_public, all_privileges } => (*to_public, *all_privileges),
        Op::AlterDefaultPrivileges { all_privileges, to_public } => (*to_public, *all_privileges),
        _ => return,
    };
    if public || all {
        let what = match (public, all) {
            (true, true) => "grants ALL privileges to PUBLIC (every role)",
            (true, false) => "grants to PUBLIC (every role)",
            _ => "grants ALL privileges",
        };
        out.push(Hit::new(
            format!("{} {what}", cx.summary),
            "Grant only the privileges needed, to a named role (least privilege)",
        ));
    }
}
