//! Security findings (RISK-MODEL.md, "Security findings"): secrets, SECURITY
//! DEFINER without a pinned search_path, row level security switched off,
//! broad grants, untrusted languages, `sslmode=disable`.

use super::*;
use crate::model::Level;

pub static HARDCODED_SECRET: Rule = Rule {
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
        Level::High,
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

pub static SECURITY_DEFINER_WITHOUT_SEARCH_PATH: Rule = Rule {
    id: "security-definer-without-search-path",
    level: Level::High,
    summary: "a SECURITY DEFINER function without a pinned search_path can be hijacked by objects in a writable schema",
    doc: rule_doc!("security-definer-without-search-path"),
    check: Check::Statement(security_definer),
    session: false,
    tags: &["security"],
};

fn security_definer(cx: &StmtCtx, out: &mut Vec<Hit>) {
    if let Op::CreateFunction { name, security_definer: true, sets_search_path: false, .. } = cx.op {
        out.push(Hit::new(
            Level::High,
            format!("SECURITY DEFINER function {name} runs with its owner's rights but resolves names through the caller's search_path"),
            "Pin it: add SET search_path = pg_catalog, pg_temp (and schema-qualify the objects it uses)",
        ));
    }
}

pub static DISABLE_ROW_LEVEL_SECURITY: Rule = Rule {
    id: "disable-row-level-security",
    level: Level::High,
    summary: "disabling row level security or dropping a policy on an existing table exposes rows",
    doc: rule_doc!("disable-row-level-security"),
    check: Check::Statement(disable_rls),
    session: false,
    tags: &["security"],
};

fn disable_rls(cx: &StmtCtx, out: &mut Vec<Hit>) {
    match cx.op {
        Op::AlterTable { table, cmds, .. } if !cx.is_new(&table.name) => {
            for c in cmds {
                let what = match c {
                    AlterCmd::RowSecurity(RowSecurity::Disable) => "DISABLE ROW LEVEL SECURITY",
                    AlterCmd::RowSecurity(RowSecurity::NoForce) => "NO FORCE ROW LEVEL SECURITY",
                    _ => continue,
                };
                out.push(Hit::new(
                    Level::High,
                    format!("{what} on {table}: its policies stop filtering rows"),
                    "Keep row level security on; change the policies instead",
                ));
            }
        }
        Op::Drop { kind: ObjKind::Policy, names, .. } => {
            for t in names.iter().filter(|t| !cx.is_new(&t.name)) {
                out.push(Hit::new(
                    Level::High,
                    format!("dropping a policy on {t}: rows it protected may become visible or writable"),
                    "Create the replacement policy in the same transaction before dropping the old one",
                ));
            }
        }
        _ => {}
    }
}

pub static GRANT_TO_PUBLIC: Rule = Rule {
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
            Level::Medium,
            format!("{} {what}", cx.summary),
            "Grant only the privileges needed, to a named role (least privilege)",
        ));
    }
}

pub static UNTRUSTED_LANGUAGE: Rule = Rule {
    id: "untrusted-language",
    level: Level::Medium,
    summary: "an untrusted procedural language lets functions run arbitrary code on the server",
    doc: rule_doc!("untrusted-language"),
    check: Check::Statement(untrusted_language),
    session: false,
    tags: &["security"],
};

fn untrusted_language(cx: &StmtCtx, out: &mut Vec<Hit>) {
    let lang = match cx.op {
        Op::CreateLanguage { untrusted: true, name } => Some(name.clone()),
        Op::CreateFunction { language: Some(l), .. } if l.ends_with('u') && l != "plpgsql" && l.len() > 2 => {
            Some(l.clone())
        }
        Op::Other if cx.summary == "CREATE EXTENSION" => {
            let l = cx.sql.to_ascii_lowercase();
            ["plpython3u", "plperlu", "pltclu", "plpythonu", "plv8u"]
                .iter()
                .find(|x| l.contains(*x))
                .map(|s| s.to_string())
        }
        _ => None,
    };
    if let Some(l) = lang {
        out.push(Hit::new(
            Level::Medium,
            format!(
                "{} uses the untrusted language {l}: its functions run arbitrary code as the database server's OS user",
                cx.summary
            ),
            "Prefer a trusted language (plpgsql, sql); if needed, restrict who can create functions in it",
        ));
    }
}

pub static SSLMODE_DISABLE: Rule = Rule {
    id: "sslmode-disable",
    level: Level::Medium,
    summary: "a connection with sslmode=disable sends data and passwords in clear text",
    doc: rule_doc!("sslmode-disable"),
    check: Check::Statement(sslmode),
    session: false,
    tags: &["security"],
};

fn sslmode(cx: &StmtCtx, out: &mut Vec<Hit>) {
    let hit = matches!(cx.op, Op::ForeignServer { sslmode_disable: true, .. })
        || (crate::source::contains_ignore_case(cx.sql, "sslmode")
            && cx.sql.to_ascii_lowercase().replace(' ', "").contains("sslmode=disable"));
    if hit {
        out.push(Hit::new(
            Level::Medium,
            format!("{} sets sslmode=disable: traffic and credentials travel unencrypted", cx.summary),
            "Use sslmode=verify-full (or at least require) in production",
        ));
    }
}

pub static UNSAFE_DYNAMIC_SQL: Rule = Rule {
    id: "unsafe-dynamic-sql",
    level: Level::Medium,
    summary: "EXECUTE of a string built by concatenation without quote_ident/quote_literal/format('%I'/'%L') is injectable",
    doc: rule_doc!("unsafe-dynamic-sql"),
    check: Check::Statement(unsafe_dynamic_sql),
    session: false,
    tags: &["security"],
};

fn unsafe_dynamic_sql(cx: &StmtCtx, out: &mut Vec<Hit>) {
    let (dynamic, what) = match cx.op {
        Op::Do { dynamic, .. } => (dynamic, "DO block".to_string()),
        Op::CreateFunction { dynamic, name, .. } => (dynamic, format!("function {name}")),
        _ => return,
    };
    for d in dynamic.iter().filter(|d| d.unsafe_concat) {
        out.push(
            Hit::new(
                Level::Medium,
                format!("the {what} builds an EXECUTE string by concatenation without quote_ident/quote_literal/format('%I'/'%L'): a value or name can inject SQL"),
                "Build the statement with format('... %I ... %L ...', ident, value) or EXECUTE ... USING for values",
            )
            .span(d.offset, d.offset + d.len),
        );
    }
}
