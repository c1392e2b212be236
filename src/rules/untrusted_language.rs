use super::*;
use crate::model::Level;

pub static RULE: Rule = Rule {
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
        Op::CreateExtension { name } => {
            let l = name.to_ascii_lowercase();
            ["plpython3u", "plperlu", "pltclu", "plpythonu", "plv8u"].iter().find(|x| l == **x).map(|s| s.to_string())
        }
        _ => None,
    };
    if let Some(l) = lang {
        out.push(Hit::new(
            format!(
                "{} uses the untrusted language {l}: its functions run arbitrary code as the database server's OS user",
                cx.summary
            ),
            "Prefer a trusted language (plpgsql, sql); if needed, restrict who can create functions in it",
        ));
    }
}
