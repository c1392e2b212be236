//! Every rule's page in `rules/<id>.md` follows the fixed format, and its
//! examples are real: each ```` ```sql bad ```` block must make the rule report
//! a finding (not ignored), each ```` ```sql good ```` block must not.
//!
//! The examples are linted by the real binary, one block per file named
//! `0001_example.sql`, with `lint --format json --no-config`: nothing exists
//! before the block (no schema history), the target is the default version.

use std::path::Path;
use std::process::Command;

use migrade::rules::{ALL, Rule};

/// Headings every page has, in this order.
const HEADINGS: &[&str] =
    &["## What it flags", "## Why it is risky", "## Bad", "## Good", "## Safe rollout", "## When to ignore"];

/// Rules whose findings depend on the file's name or folder, which a single
/// `0001_example.sql` cannot show: their pages use untagged ```` ```sql ```` blocks.
/// Rules whose findings depend on file names, or on a real server (`migrade verify`),
/// not on a statement's text: their pages have untagged examples.
const NAME_DEPENDENT: &[&str] = &[
    "stage-name-mismatch",
    "missing-down-migration",
    "verify-apply-failed",
    "verify-disagrees",
    "verify-down-incomplete",
];

#[derive(Debug, PartialEq)]
enum Tag {
    Bad,
    Good,
}

struct Block {
    tag: Tag,
    /// 1-based line of the opening fence in the page.
    line: usize,
    sql: String,
}

/// The ```` ```sql bad ```` / ```` ```sql good ```` blocks of a page.
fn blocks(doc: &str) -> Result<Vec<Block>, String> {
    let mut out = Vec::new();
    let mut current: Option<Block> = None;
    let mut in_other_fence = false;
    for (i, line) in doc.lines().enumerate() {
        let trimmed = line.trim_end();
        if let Some(b) = current.as_mut() {
            if trimmed == "```" {
                out.push(current.take().unwrap());
            } else {
                b.sql.push_str(line);
                b.sql.push('\n');
            }
            continue;
        }
        if in_other_fence {
            if trimmed == "```" {
                in_other_fence = false;
            }
            continue;
        }
        if let Some(info) = trimmed.strip_prefix("```") {
            let words: Vec<&str> = info.split_whitespace().collect();
            match words.as_slice() {
                ["sql", "bad"] => current = Some(Block { tag: Tag::Bad, line: i + 1, sql: String::new() }),
                ["sql", "good"] => current = Some(Block { tag: Tag::Good, line: i + 1, sql: String::new() }),
                [] | ["sql"] | ["toml"] | ["sh"] | ["text"] | ["console"] => in_other_fence = true,
                other => {
                    return Err(format!("line {}: unknown code fence info string {:?}", i + 1, other.join(" ")));
                }
            }
        }
    }
    if current.is_some() || in_other_fence {
        return Err("a code fence is not closed".into());
    }
    Ok(out)
}

/// Format checks that need no linting. Returns one message per problem.
fn check_format(rule: &Rule) -> Vec<String> {
    let doc = rule.doc;
    let mut problems = Vec::new();
    let title = format!("# {}", rule.id);
    if doc.lines().next().map(str::trim_end) != Some(title.as_str()) {
        problems.push(format!("does not start with `{title}`"));
    }
    if doc.contains("TODO") {
        problems.push("still contains TODO".into());
    }
    let level_line = format!("Default level: **{}**", rule.level.as_str());
    if !doc.lines().any(|l| l.trim_end() == level_line) {
        let found = doc.lines().find(|l| l.starts_with("Default level:")).unwrap_or("(none)");
        problems.push(format!("expected the line `{level_line}`, found `{found}`"));
    }
    let mut last = 0usize;
    for h in HEADINGS {
        let pos = doc.lines().enumerate().find(|(_, l)| l.trim_end() == *h).map(|(i, _)| i);
        match pos {
            None => problems.push(format!("missing heading `{h}`")),
            Some(p) if p < last => problems.push(format!("heading `{h}` is out of order")),
            Some(p) => last = p,
        }
    }
    match blocks(doc) {
        Err(e) => problems.push(e),
        Ok(b) => {
            let named = NAME_DEPENDENT.contains(&rule.id);
            let bad = b.iter().filter(|b| b.tag == Tag::Bad).count();
            let good = b.iter().filter(|b| b.tag == Tag::Good).count();
            if !named && bad == 0 {
                problems.push("has no ```sql bad block".into());
            }
            if !named && good == 0 {
                problems.push("has no ```sql good block".into());
            }
            if named && bad + good > 0 {
                problems.push("is listed as name-dependent but has tagged examples".into());
            }
        }
    }
    problems
}

struct Finding {
    rule: String,
    level: String,
    ignored: bool,
}

/// Lints `sql` as `0001_example.sql` in a fresh directory.
fn lint(sql: &str) -> Result<Vec<Finding>, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let file = dir.path().join("0001_example.sql");
    std::fs::write(&file, sql).map_err(|e| e.to_string())?;
    let out = Command::new(env!("CARGO_BIN_EXE_migrade"))
        .current_dir(dir.path())
        .args(["lint", "--format", "json", "--no-config"])
        .arg(Path::new("0001_example.sql"))
        .output()
        .map_err(|e| format!("cannot run migrade: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let json: serde_json::Value = serde_json::from_str(&stdout).map_err(|e| {
        format!(
            "output is not JSON ({e}); exit {:?}; stderr: {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        )
    })?;
    let files = json["files"].as_array().ok_or("no `files` array in the JSON output")?;
    if files.len() != 1 {
        return Err(format!("expected 1 file in the report, got {}; errors: {}", files.len(), json["errors"]));
    }
    let findings = files[0]["findings"].as_array().ok_or("no `findings` array")?;
    Ok(findings
        .iter()
        .map(|f| Finding {
            rule: f["rule"].as_str().unwrap_or_default().to_string(),
            level: f["level"].as_str().unwrap_or_default().to_string(),
            ignored: f["ignored"].as_bool().unwrap_or(false),
        })
        .collect())
}

fn describe(findings: &[Finding]) -> String {
    if findings.is_empty() {
        return "no findings".into();
    }
    findings
        .iter()
        .map(|f| format!("{} ({}{})", f.rule, f.level, if f.ignored { ", ignored" } else { "" }))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Runs one page's examples. Returns one message per failing block.
fn check_examples(rule: &Rule) -> (usize, Vec<String>) {
    let Ok(blocks) = blocks(rule.doc) else {
        return (0, vec![]);
    };
    let mut problems = Vec::new();
    for b in &blocks {
        let findings = match lint(&b.sql) {
            Ok(f) => f,
            Err(e) => {
                problems.push(format!("example at line {}: {e}", b.line));
                continue;
            }
        };
        let hits: Vec<&Finding> = findings.iter().filter(|f| f.rule == rule.id && !f.ignored).collect();
        match b.tag {
            Tag::Bad if hits.is_empty() => problems.push(format!(
                "```sql bad at line {} does not trigger {} (got: {})",
                b.line,
                rule.id,
                describe(&findings)
            )),
            Tag::Bad if !hits.iter().any(|f| f.level == rule.level.as_str()) => problems.push(format!(
                "```sql bad at line {} triggers {} only below/above its default level {} (got: {})",
                b.line,
                rule.id,
                rule.level.as_str(),
                describe(&findings)
            )),
            Tag::Good if !hits.is_empty() => problems.push(format!(
                "```sql good at line {} triggers {} (got: {})",
                b.line,
                rule.id,
                describe(&findings)
            )),
            _ => {}
        }
    }
    (blocks.len(), problems)
}

#[test]
fn every_rule_page_has_the_fixed_format() {
    let mut failures = Vec::new();
    for rule in ALL {
        for p in check_format(rule) {
            failures.push(format!("rules/{}.md: {p}", rule.id));
        }
    }
    assert!(failures.is_empty(), "{} problem(s) in rule pages:\n  {}", failures.len(), failures.join("\n  "));
}

#[test]
fn name_dependent_list_names_real_rules() {
    for id in NAME_DEPENDENT {
        assert!(ALL.iter().any(|r| r.id == *id), "NAME_DEPENDENT lists unknown rule {id}");
    }
}

#[test]
fn every_rule_page_example_does_what_it_says() {
    let mut failures = Vec::new();
    let mut checked = 0;
    for rule in ALL {
        let (n, problems) = check_examples(rule);
        checked += n;
        for p in problems {
            failures.push(format!("rules/{}.md: {p}", rule.id));
        }
    }
    eprintln!("checked {checked} examples on {} rule pages", ALL.len());
    assert!(failures.is_empty(), "{} example(s) fail:\n  {}", failures.len(), failures.join("\n  "));
}

/// The README's rule table, as generated from [`ALL`]: one row per rule, in catalogue
/// order, with its default level, summary and groups.
fn readme_rule_rows() -> Vec<String> {
    ALL.iter()
        .map(|r| {
            let tags = r.tags.iter().map(|t| format!(" ({t})")).collect::<String>();
            format!("| [`{id}`](rules/{id}.md) | {} | {}{tags} |", r.level.as_str(), r.summary, id = r.id)
        })
        .collect()
}

/// The README's rule table is the catalogue: never written by hand. After adding or
/// changing a rule, `MIGRADE_BLESS=1 cargo test --test rule_docs readme` rewrites it.
#[test]
fn readme_rule_table_is_generated_from_the_catalogue() {
    const HEADER: &str = "| rule | default level | what it flags |";
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md");
    let readme = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = readme.lines().collect();
    let start = lines.iter().position(|l| *l == HEADER).expect("README has the rule table header") + 2;
    let end = start + lines[start..].iter().take_while(|l| l.starts_with("| [`")).count();
    let want = readme_rule_rows();
    if lines[start..end] == want {
        return;
    }
    if std::env::var_os("MIGRADE_BLESS").is_some() {
        let mut out: Vec<String> = lines[..start].iter().map(|l| l.to_string()).collect();
        out.extend(want);
        out.extend(lines[end..].iter().map(|l| l.to_string()));
        std::fs::write(&path, out.join("\n") + "\n").unwrap();
        return;
    }
    let diff: Vec<String> = want
        .iter()
        .filter(|w| !lines[start..end].contains(&w.as_str()))
        .map(|w| format!("missing or different: {w}"))
        .chain(lines[start..end].iter().filter(|l| !want.contains(&l.to_string())).map(|l| format!("stale: {l}")))
        .collect();
    panic!(
        "the README's rule table differs from the catalogue (rules::ALL); run \
         `MIGRADE_BLESS=1 cargo test --test rule_docs readme` to regenerate it:\n{}",
        diff.join("\n")
    );
}
