use super::*;
use crate::model::Level;

pub static RULE: Rule = Rule {
    id: "hardcoded-secret",
    level: Level::High,
    summary: "a literal password in a migration is a secret committed to the repository",
    doc: rule_doc!("hardcoded-secret"),
    check: Check::Statement(hardcoded_secret),
    session: false,
    tags: &["security"],
};

fn hardcoded_secret(cx: &StmtCtx, out: &mut Vec<Hit>) {
    let what = match cx.op {
        Op::Role { with_password: true } => "a role password",
        Op::UserMapping { with_password: true } => "a user-mapping password",
        Op::ForeignServer { with_password: true, .. } => "a server password",
        _ => {
            if cx.text.connection_password {
                "a connection string with a password"
            } else {
                return;
            }
        }
    };
    out.push(Hit::new(
        format!("{} contains {what} as a literal: the secret is now in the repository and its history", cx.summary),
        "Set the password outside the migration (psql \\password, a secret manager, or a variable substituted at deploy time) and rotate this one",
    ));
}
