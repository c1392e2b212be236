//! Rule `hardcoded-secret` (its page: rules/hardcoded-secret.md).

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
            if connection_string_password(cx.sql) {
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

/// `password=...` in a libpq string, or `scheme://user:password@host` in a URL.
fn connection_string_password(sql: &str) -> bool {
    if !(crate::source::contains_ignore_case(sql, "password") || crate::source::contains_ignore_case(sql, "postgres")) {
        return false;
    }
    let l = sql.to_ascii_lowercase();
    if l.trim_start().starts_with("comment") {
        return false;
    }
    if let Some(i) = l.find("password=") {
        let rest = &l[i + 9..];
        if rest.chars().next().is_some_and(|c| !c.is_whitespace() && c != '\'' && c != ')') {
            return true;
        }
    }
    for scheme in ["postgres://", "postgresql://"] {
        if let Some(i) = l.find(scheme) {
            let rest = &l[i + scheme.len()..];
            let end = rest.find(|c: char| c == '\'' || c.is_whitespace()).unwrap_or(rest.len());
            let auth = &rest[..end];
            if let Some(at) = auth.find('@')
                && auth[..at].contains(':')
            {
                return true;
            }
        }
    }
    false
}
