use super::*;
use crate::model::Level;

pub static RULE: Rule = Rule {
    id: "sslmode-disable",
    level: Level::Medium,
    summary: "a connection with sslmode=disable sends data and passwords in clear text",
    doc: rule_doc!("sslmode-disable"),
    check: Check::Statement(sslmode),
    session: false,
    tags: &["security"],
};

fn sslmode(cx: &StmtCtx, out: &mut Vec<Hit>) {
    let hit = matches!(cx.op, Op::ForeignServer { sslmode_disable: true, .. }) || cx.text.sslmode_disable;
    if hit {
        out.push(Hit::new(
            format!("{} sets sslmode=disable: traffic and credentials travel unencrypted", cx.summary),
            "Use sslmode=verify-full (or at least require) in production",
        ));
    }
}
