//! `--format sarif`: SARIF 2.1.0 (one run) for code-scanning tools.
//!
//! * `tool.driver.rules` lists every rule of [`crate::rules::ALL`], in that order,
//!   so a result's `ruleIndex` is the rule's position there;
//! * one result per finding; ignored findings carry an `inSource` suppression
//!   with the ignore's reason as justification;
//! * regions are 1-based; columns count Unicode code points (`columnKind`), and
//!   `endColumn` is exclusive (migrade's own end column is inclusive);
//! * files that could not be linted become error notifications of the one
//!   invocation, which is then not `executionSuccessful`.

use super::{RunReport, span_positions};
use crate::model::{FileReport, Finding, Level};
use crate::rules::{ALL, Rule};
use crate::source::LineIndex;
use serde_json::Value;
use serde_sarif::sarif::{
    ArtifactLocation, Invocation, Location, Message, MultiformatMessageString, Notification, PhysicalLocation,
    PropertyBag, Region, ReportingConfiguration, ReportingDescriptor, Result as SarifResult, ResultLevel, Run, Sarif,
    Suppression, Tool, ToolComponent,
};
use std::collections::BTreeMap;
use std::fmt::Write;

/// The `$schema` written into the log: the OASIS 2.1.0 (errata 01) schema.
pub const SCHEMA_URI: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

/// SARIF level of a migrade level: low → note, medium → warning, high and very-high → error.
pub fn sarif_level(level: Level) -> ResultLevel {
    match level {
        Level::Low => ResultLevel::Note,
        Level::Medium => ResultLevel::Warning,
        Level::High | Level::VeryHigh => ResultLevel::Error,
    }
}

fn level_str(level: ResultLevel) -> &'static str {
    match level {
        ResultLevel::None => "none",
        ResultLevel::Note => "note",
        ResultLevel::Warning => "warning",
        ResultLevel::Error => "error",
    }
}

fn bag(pairs: impl IntoIterator<Item = (&'static str, Value)>) -> PropertyBag {
    PropertyBag::builder()
        .additional_properties(pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect::<BTreeMap<_, _>>())
        .build()
}

/// A file path as a URI reference: relative paths stay relative (with `/`
/// separators), absolute ones become `file://` URIs; every byte outside the
/// unreserved characters, `/` and the sub-delimiters is percent-encoded
/// (`:` too, so a first path segment is never read as a scheme).
pub fn path_to_uri(path: &str) -> String {
    let p = if cfg!(windows) { path.replace('\\', "/") } else { path.to_string() };
    let drive = p.len() >= 2 && p.as_bytes()[0].is_ascii_alphabetic() && p.as_bytes()[1] == b':';
    let mut out = String::with_capacity(p.len() + 8);
    let rest = if drive {
        // `C:/x` → `file:///C:/x`
        out.push_str("file:///");
        out.push_str(&p[..2]);
        &p[2..]
    } else {
        if p.starts_with('/') {
            out.push_str("file://");
        }
        &p[..]
    };
    for b in rest.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => out.push(b as char),
            b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b';' | b'=' | b'@' => out.push(b as char),
            _ => {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
    out
}

/// The first prose paragraph of a rule's doc page: headings, code blocks, the
/// `Default level:` line and a bare "TODO" are skipped (None when nothing is left).
fn doc_paragraph(doc: &str) -> Option<String> {
    let mut para: Vec<&str> = Vec::new();
    let mut in_code = false;
    for line in doc.lines().map(str::trim) {
        if line.starts_with("```") {
            in_code = !in_code;
            if !para.is_empty() {
                break;
            }
            continue;
        }
        if in_code {
            continue;
        }
        if line.is_empty() || line.starts_with('#') {
            if !para.is_empty() {
                break;
            }
            continue;
        }
        // The level line, the `Tag:` configuration hint and a bare TODO are not a description.
        if para.is_empty()
            && (line.starts_with("Default level") || line.starts_with("Tag:") || line.eq_ignore_ascii_case("todo"))
        {
            // a one-line paragraph to skip: the next blank line ends it
            continue;
        }
        para.push(line);
    }
    (!para.is_empty()).then(|| para.join(" "))
}

/// `drop-table` → `DropTable`.
fn pascal(id: &str) -> String {
    id.split(['-', '_'])
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut c = w.chars();
            c.next().map(|f| f.to_ascii_uppercase().to_string() + c.as_str()).unwrap_or_default()
        })
        .collect()
}

/// GitHub code scanning's `security-severity` (a CVSS-like score as a string:
/// 9.0+ critical, 7.0 high, 4.0 medium, below low) of a security rule's level.
fn security_severity(level: Level) -> &'static str {
    match level {
        Level::VeryHigh => "9.0",
        Level::High => "7.5",
        Level::Medium => "5.5",
        Level::Low => "3.0",
    }
}

/// Where a rule's page is read on the web: its page in the repository at this
/// version's tag (None when Cargo.toml names no repository).
pub fn help_uri(rule_id: &str) -> Option<String> {
    let repo = env!("CARGO_PKG_REPOSITORY").trim_end_matches('/');
    (!repo.is_empty()).then(|| format!("{repo}/blob/v{}/rules/{rule_id}.md", env!("CARGO_PKG_VERSION")))
}

fn descriptor(rule: &Rule) -> ReportingDescriptor {
    let full = doc_paragraph(rule.doc).unwrap_or_else(|| rule.summary.to_string());
    let doc = if rule.doc.trim().is_empty() { rule.summary } else { rule.doc };
    let mut props =
        vec![("migradeLevel", Value::from(rule.level.as_str())), ("sessionSafety", Value::from(rule.session))];
    if !rule.tags.is_empty() {
        props.push(("tags", Value::from(rule.tags.to_vec())));
    }
    if rule.tags.contains(&"security") {
        props.push(("security-severity", Value::from(security_severity(rule.level))));
    }
    let mut d = ReportingDescriptor::builder()
        .id(rule.id)
        .name(pascal(rule.id))
        .short_description(MultiformatMessageString::builder().text(rule.summary).build())
        .full_description(MultiformatMessageString::builder().text(full).build())
        .help(MultiformatMessageString::builder().text(doc).markdown(doc).build())
        .default_configuration(
            ReportingConfiguration::builder().level(Value::from(level_str(sarif_level(rule.level)))).build(),
        )
        .properties(bag(props))
        .build();
    d.help_uri = help_uri(rule.id);
    d
}

fn result(f: &FileReport, text: &str, index: &LineIndex, x: &Finding) -> SarifResult {
    let (a, b) = span_positions(text, index, x.span);
    // SARIF's endColumn is exclusive; an empty span stays empty.
    let end_column = if x.span.end > x.span.start { b.column + 1 } else { b.column };
    let region = Region::builder()
        .start_line(a.line as i64)
        .start_column(a.column as i64)
        .end_line(b.line as i64)
        .end_column(end_column as i64)
        .build();
    let location = Location::builder()
        .physical_location(
            PhysicalLocation::builder()
                .artifact_location(ArtifactLocation::builder().uri(path_to_uri(&f.path)).build())
                .region(region)
                .build(),
        )
        .build();
    // The message is the finding; its advice goes in `help` (a property), so viewers
    // that show the message as a title do not run the two together.
    let mut props = vec![("migradeLevel", Value::from(x.level.as_str())), ("fileGrade", Value::from(f.grade.as_str()))];
    if !x.help.trim().is_empty() {
        props.push(("help", Value::from(x.help.as_str())));
    }
    if let Some(s) = x.statement {
        props.push(("statement", Value::from(s)));
    }
    let builder = SarifResult::builder()
        .rule_id(x.rule)
        .level(sarif_level(x.level))
        .message(Message::builder().text(x.message.as_str()).build())
        .locations(vec![location])
        .properties(bag(props));
    let suppressions = x.ignored.then(|| {
        let s = Suppression::builder().kind(Value::from("inSource"));
        vec![match &x.ignore_reason {
            Some(r) => s.justification(r.as_str()).build(),
            None => s.build(),
        }]
    });
    let rule_index = ALL.iter().position(|r| r.id == x.rule).map(|i| i as i64);
    // typed-builder fixes the field set at compile time; set the optional ones by hand.
    let mut r = builder.build();
    r.rule_index = rule_index;
    r.suppressions = suppressions;
    r
}

/// The SARIF log of a run.
pub fn log(run: &RunReport) -> Sarif {
    let mut driver = ToolComponent::builder()
        .name("migrade")
        .version(env!("CARGO_PKG_VERSION"))
        .semantic_version(env!("CARGO_PKG_VERSION"))
        .rules(ALL.iter().map(|r| descriptor(r)).collect::<Vec<_>>())
        .build();
    let repo = env!("CARGO_PKG_REPOSITORY");
    if !repo.is_empty() {
        driver.information_uri = Some(repo.to_string());
    }
    let mut results = Vec::new();
    for f in &run.files {
        let text: &str = &f.text;
        let index = LineIndex::new(text);
        results.extend(f.findings.iter().map(|x| result(f, text, &index, x)));
    }
    let notifications: Vec<Notification> = run
        .errors
        .iter()
        .map(|e| {
            Notification::builder()
                .level(Value::from("error"))
                .message(Message::builder().text(format!("{}: {}", e.path, e.message)).build())
                .locations(vec![
                    Location::builder()
                        .physical_location(
                            PhysicalLocation::builder()
                                .artifact_location(ArtifactLocation::builder().uri(path_to_uri(&e.path)).build())
                                .build(),
                        )
                        .build(),
                ])
                .build()
        })
        .collect();
    let mut invocation = Invocation::builder().execution_successful(run.errors.is_empty()).build();
    if !notifications.is_empty() {
        invocation.tool_execution_notifications = Some(notifications);
    }
    let run = Run::builder()
        .tool(Tool::builder().driver(driver).build())
        .results(results)
        .invocations(vec![invocation])
        .column_kind(Value::from("unicodeCodePoints"))
        .build();
    Sarif::builder().schema(SCHEMA_URI).version(Value::from("2.1.0")).runs(vec![run]).build()
}

pub fn render(run: &RunReport) -> String {
    match serde_json::to_string_pretty(&log(run)) {
        Ok(s) => s + "\n",
        // Serializing plain strings and numbers cannot fail; keep the output valid JSON anyway.
        Err(e) => format!("{{\"error\": {}}}\n", Value::from(e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris() {
        assert_eq!(path_to_uri("migrations/001_init.sql"), "migrations/001_init.sql");
        assert_eq!(path_to_uri("we,ird:na%me x.sql"), "we,ird%3Ana%25me%20x.sql");
        assert_eq!(path_to_uri("/abs/é.sql"), "file:///abs/%C3%A9.sql");
        assert_eq!(path_to_uri("-"), "-");
    }

    #[test]
    fn names_and_paragraphs() {
        assert_eq!(pascal("drop-table"), "DropTable");
        assert_eq!(doc_paragraph("# x\n\nTODO\n"), None);
        assert_eq!(doc_paragraph("# x\n\nFirst line\nsecond.\n\nMore.").as_deref(), Some("First line second."));
        assert_eq!(
            doc_paragraph("# x\n\nDefault level: **high**\n\n## What it flags\n\n```sql\nDROP x;\n```\n\n`DROP` of a\ntable.\n\n## Why")
                .as_deref(),
            Some("`DROP` of a table.")
        );
    }
}
