//! Output formats other than json/human: SARIF (validated against the official
//! 2.1.0 schema), GitHub workflow commands, Markdown, gcc.
//!
//! The SARIF schema is read from `../shared/schemas/sarif-schema-2.1.0.json`
//! (beside the repository; CI has it). When it is missing the test fails, unless
//! `MIGRADE_SKIP_SHARED=1` is set: then it says so loudly and skips only the
//! schema validation.
//!
//! Run: `cargo test --test formats`

use migrade::model::{Advice, Direction, FileReport, Finding, Level, PlanStep, Span, Stage};
use migrade::report::RunReport;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

const SARIF_SCHEMA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/schemas/sarif-schema-2.1.0.json");
const FIXTURES: &str = "fixtures/formats";
/// The official schema's `language` pattern; see [`sarif_validator`].
const UPSTREAM_LANGUAGE_PATTERN: &str = "^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `migrade lint --no-config --format <format> <args>` in `dir`; returns stdout.
fn lint(dir: &Path, format: &str, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_migrade"))
        .current_dir(dir)
        .args(["lint", "--no-config", "--format", format])
        .args(args)
        .output()
        .expect("run migrade");
    let code = out.status.code();
    assert!(matches!(code, Some(0..=2)), "migrade crashed ({code:?}): {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

fn json(dir: &Path, args: &[&str]) -> Value {
    serde_json::from_str(&lint(dir, "json", args)).expect("json output parses")
}

/// (path, finding) for every finding of a JSON report, in order.
fn json_findings(report: &Value) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for f in report["files"].as_array().expect("files") {
        for x in f["findings"].as_array().expect("findings") {
            out.push((f["path"].as_str().expect("path").to_string(), x.clone()));
        }
    }
    out
}

fn n(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not a number: {v}"))
}

/// A temp dir with files of hostile names (`,` `:` `%` and spaces) and one unreadable (binary) file.
fn hostile_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("we,ird:na%me x.sql"), "DROP TABLE t1;\n").expect("write");
    std::fs::write(
        dir.path().join("two words.sql"),
        "-- é è\nCREATE INDEX i ON t (a);\nALTER TABLE t\n  DROP COLUMN c;\n",
    )
    .expect("write");
    std::fs::write(dir.path().join("bin,ary.sql"), b"SELECT 1;\0").expect("write");
    dir
}

fn level_of(l: &str) -> &'static str {
    match l {
        "low" => "note",
        "medium" => "warning",
        "high" | "very-high" => "error",
        other => panic!("unknown level {other}"),
    }
}

// ---------------------------------------------------------------- SARIF

/// The official schema as a draft-07 validator that never fetches anything;
/// `None` (after a loud message) only when the schema is absent and MIGRADE_SKIP_SHARED=1.
fn sarif_validator() -> Option<jsonschema::Validator> {
    load_validator(Path::new(SARIF_SCHEMA), std::env::var("MIGRADE_SKIP_SHARED").is_ok_and(|v| v == "1"))
}

fn load_validator(path: &Path, skip_if_missing: bool) -> Option<jsonschema::Validator> {
    if !path.is_file() {
        if skip_if_missing {
            eprintln!("\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!");
            eprintln!("!!! SARIF SCHEMA VALIDATION SKIPPED: {} is missing", path.display());
            eprintln!("!!! and MIGRADE_SKIP_SHARED=1 is set. CI must run this check with ../shared.");
            eprintln!("!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n");
            return None;
        }
        panic!(
            "the official SARIF 2.1.0 schema is missing: expected {} \
             (the shared/ folder beside the repository, which CI has). \
             Set MIGRADE_SKIP_SHARED=1 to skip the schema validation locally.",
            path.display()
        );
    }
    let text = std::fs::read_to_string(path).expect("read the SARIF schema");
    let mut schema: Value = serde_json::from_str(&text).expect("the SARIF schema is JSON");
    // The schema's two `language` patterns (run, toolComponent) have a stray `]`,
    // which ECMA-262 reads as a literal but the validator's draft-07 meta-schema check
    // (`format: regex`) rejects, refusing the whole schema. Escaping it keeps the
    // meaning exactly; migrade writes no `language` anyway.
    let fixed = escape_stray_bracket(&mut schema);
    assert!(fixed <= 2, "unexpected patterns rewritten: {fixed}");
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft7)
        .offline() // no network: any remote $ref is an error, never a fetch
        .should_validate_formats(true)
        .build(&schema)
        .expect("the SARIF schema compiles offline");
    Some(validator)
}

/// Rewrites every `pattern` equal to [`UPSTREAM_LANGUAGE_PATTERN`]; returns how many.
fn escape_stray_bracket(v: &mut Value) -> usize {
    match v {
        Value::Object(m) => m
            .iter_mut()
            .map(|(k, v)| {
                if k == "pattern" && v == UPSTREAM_LANGUAGE_PATTERN {
                    *v = Value::from(UPSTREAM_LANGUAGE_PATTERN.replace("]?$", "\\]?$"));
                    1
                } else {
                    escape_stray_bracket(v)
                }
            })
            .sum(),
        Value::Array(a) => a.iter_mut().map(escape_stray_bracket).sum(),
        _ => 0,
    }
}

fn assert_schema_valid(v: &jsonschema::Validator, doc: &Value, what: &str) {
    let errors: Vec<String> = v.iter_errors(doc).map(|e| format!("  {} at {}", e, e.instance_path())).collect();
    assert!(errors.is_empty(), "{what}: SARIF does not validate against the official schema:\n{}", errors.join("\n"));
}

#[test]
fn sarif_validates_against_the_official_schema() {
    let validator = sarif_validator();
    let text = lint(&root(), "sarif", &[FIXTURES]);
    let sarif: Value = serde_json::from_str(&text).expect("sarif output is JSON");
    let hostile = hostile_dir();
    let sarif_err: Value = serde_json::from_str(&lint(hostile.path(), "sarif", &["."])).expect("sarif output is JSON");
    let in_process: Value =
        serde_json::from_str(&migrade::report::sarif::render(&synthetic_run())).expect("sarif output is JSON");
    if let Some(v) = &validator {
        assert_schema_valid(v, &sarif, FIXTURES);
        assert_schema_valid(v, &sarif_err, "hostile names and a binary file");
        assert_schema_valid(v, &in_process, "synthetic run");
        // The validator is not vacuous: a wrong level and a missing version are rejected.
        let mut broken = sarif.clone();
        broken["runs"][0]["results"][0]["level"] = Value::from("fatal");
        assert!(!v.is_valid(&broken), "the validator accepted level \"fatal\"");
        let mut broken = sarif.clone();
        broken.as_object_mut().expect("object").remove("version");
        assert!(!v.is_valid(&broken), "the validator accepted a log without version");
        // Formats are checked: a raw space is not allowed in a URI reference.
        let mut broken = sarif.clone();
        broken["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] =
            Value::from("two words.sql");
        assert!(!v.is_valid(&broken), "the validator accepted a URI with a space");
    }
}

#[test]
fn a_missing_schema_fails_clearly_unless_skipped() {
    let missing = root().join("no/such/sarif-schema-2.1.0.json");
    assert!(load_validator(&missing, true).is_none());
    let err = std::panic::catch_unwind(|| load_validator(&missing, false)).expect_err("must fail without the schema");
    let msg = err.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(msg.contains("schema is missing") && msg.contains("MIGRADE_SKIP_SHARED=1"), "{msg}");
}

#[test]
fn sarif_content_matches_the_json_report() {
    let sarif: Value = serde_json::from_str(&lint(&root(), "sarif", &[FIXTURES])).expect("sarif output is JSON");
    let report = json(&root(), &[FIXTURES]);
    assert_eq!(sarif["version"], "2.1.0");
    let runs = sarif["runs"].as_array().expect("runs");
    assert_eq!(runs.len(), 1);
    let run = &runs[0];
    assert_eq!(run["columnKind"], "unicodeCodePoints");
    let driver = &run["tool"]["driver"];
    assert_eq!(driver["name"], "migrade");
    assert_eq!(driver["version"], env!("CARGO_PKG_VERSION"));

    // Every rule, in catalogue order, with its level mapped.
    let rules = driver["rules"].as_array().expect("rules");
    assert_eq!(rules.len(), migrade::rules::ALL.len());
    for (d, r) in rules.iter().zip(migrade::rules::ALL) {
        assert_eq!(d["id"], r.id);
        assert_eq!(d["shortDescription"]["text"], r.summary);
        assert!(
            d["fullDescription"]["text"].as_str().is_some_and(|s| !s.is_empty() && !s.starts_with("Default level")),
            "{}: fullDescription",
            r.id
        );
        assert_eq!(d["help"]["text"], r.doc, "{}: help is the doc page", r.id);
        assert_eq!(d["help"]["markdown"], r.doc, "{}: help is the doc page", r.id);
        assert_eq!(d["defaultConfiguration"]["level"], level_of(r.level.as_str()), "{}", r.id);
        assert_eq!(d["properties"]["migradeLevel"], r.level.as_str(), "{}", r.id);
    }

    // One result per finding, ignored ones suppressed in source.
    let results = run["results"].as_array().expect("results");
    let findings = json_findings(&report);
    assert_eq!(results.len(), findings.len());
    assert!(
        findings.iter().any(|(_, x)| x["rule"] == "drop-table" && x["ignored"] == false),
        "fixture lost its drop-table"
    );
    assert!(
        findings.iter().any(|(_, x)| x["rule"] == "create-index-non-concurrently"),
        "fixture lost its CREATE INDEX"
    );
    assert!(
        findings.iter().any(|(_, x)| x["rule"] == "drop-column" && x["ignored"] == true),
        "fixture lost its ignore"
    );
    let grades: std::collections::HashMap<&str, &Value> = report["files"]
        .as_array()
        .expect("files")
        .iter()
        .map(|f| (f["path"].as_str().expect("path"), &f["grade"]))
        .collect();
    for (r, (path, x)) in results.iter().zip(&findings) {
        assert_eq!(r["ruleId"], x["rule"]);
        let idx = n(&r["ruleIndex"]) as usize;
        assert_eq!(rules[idx]["id"], x["rule"], "ruleIndex points at the rule");
        assert_eq!(r["level"], level_of(x["level"].as_str().expect("level")));
        let msg = r["message"]["text"].as_str().expect("message");
        // The message is the finding; the advice is its own property (not run into the message).
        assert_eq!(msg, x["message"].as_str().expect("m"));
        assert_eq!(r["properties"]["help"], x["help"]);
        let loc = &r["locations"][0]["physicalLocation"];
        assert_eq!(loc["artifactLocation"]["uri"], path.as_str());
        let reg = &loc["region"];
        assert_eq!(n(&reg["startLine"]), n(&x["line"]));
        assert_eq!(n(&reg["startColumn"]), n(&x["column"]));
        assert_eq!(n(&reg["endLine"]), n(&x["end_line"]));
        assert_eq!(n(&reg["endColumn"]), n(&x["end_column"]) + 1, "SARIF endColumn is exclusive");
        assert_eq!(r["properties"]["migradeLevel"], x["level"]);
        assert_eq!(&r["properties"]["fileGrade"], grades[path.as_str()]);
        if x["ignored"] == true {
            let s = r["suppressions"].as_array().expect("an ignored finding is suppressed");
            assert_eq!(s.len(), 1);
            assert_eq!(s[0]["kind"], "inSource");
            assert_eq!(s[0]["justification"], x["ignore_reason"]);
            assert_eq!(s[0]["justification"], "the column has been unused since v2.3; backup taken");
        } else {
            assert!(r.get("suppressions").is_none(), "only ignored findings are suppressed");
        }
    }
    let inv = &run["invocations"][0];
    assert_eq!(inv["executionSuccessful"], true);
    assert!(inv.get("toolExecutionNotifications").is_none());
}

#[test]
fn sarif_reports_errors_as_notifications_and_encodes_uris() {
    let dir = hostile_dir();
    let sarif: Value = serde_json::from_str(&lint(dir.path(), "sarif", &["."])).expect("sarif output is JSON");
    let run = &sarif["runs"][0];
    let inv = &run["invocations"][0];
    assert_eq!(inv["executionSuccessful"], false);
    let notes = inv["toolExecutionNotifications"].as_array().expect("notifications");
    assert_eq!(notes.len(), 1);
    assert_eq!(notes[0]["level"], "error");
    assert!(
        notes[0]["message"]["text"].as_str().is_some_and(|m| m.starts_with("bin,ary.sql: binary file")),
        "{}",
        notes[0]
    );
    assert_eq!(notes[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"], "bin,ary.sql");
    let uris: Vec<&str> = run["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].as_str().expect("uri"))
        .collect();
    assert!(uris.contains(&"we,ird%3Ana%25me%20x.sql"), "{uris:?}");
    assert!(uris.contains(&"two%20words.sql"), "{uris:?}");
    // A finding spanning two lines after a line with accented letters.
    let drop = run["results"]
        .as_array()
        .expect("results")
        .iter()
        .find(|r| r["ruleId"] == "drop-column")
        .expect("drop-column result");
    let reg = &drop["locations"][0]["physicalLocation"]["region"];
    assert_eq!((n(&reg["startLine"]), n(&reg["startColumn"])), (3, 1));
    assert_eq!((n(&reg["endLine"]), n(&reg["endColumn"])), (4, 17));
}

// ---------------------------------------------------------------- a run built by hand

fn finding(rule: &'static str, level: Level, span: Span, message: &str, help: &str) -> Finding {
    Finding {
        rule,
        level,
        statement: Some(0),
        span,
        message: message.into(),
        help: help.into(),
        ignored: false,
        ignore_reason: None,
        plan: Vec::new(),
    }
}

fn file(path: &str, text: &str, grade: Level, findings: Vec<Finding>, plan: Vec<PlanStep>) -> FileReport {
    FileReport {
        path: path.into(),
        text: Arc::from(text),
        direction: Direction::Up,
        layout: "plain",
        grade,
        advice: Advice::for_grade(grade),
        statements: Vec::new(),
        findings,
        plan,
        sections: Vec::new(),
        verify: None,
    }
}

/// Edge cases no fixture gives: an empty span, a span on a wide character, a
/// message with CR LF, `%`, `:` and `,`, an ignore without reason, an empty help.
fn synthetic_run() -> RunReport {
    let text = "-- ü\nDROP TABLE a;\n";
    let drop = text.find("DROP").expect("DROP");
    let mut ignored = finding("drop-column", Level::VeryHigh, Span { start: 3, end: 5 }, "on ü", "");
    ignored.ignored = true;
    let findings = vec![
        finding(
            "drop-table",
            Level::VeryHigh,
            Span { start: drop, end: drop + 13 },
            "first line\r\nsecond: 100% sure, really",
            "help\nmore",
        ),
        finding("missing-down-migration", Level::Low, Span { start: 0, end: 0 }, "empty span", "h"),
        ignored,
    ];
    RunReport {
        files: vec![file(
            "dir/ä b.sql",
            text,
            Level::VeryHigh,
            findings,
            vec![PlanStep::new(Stage::Contract, "drop it", "DROP TABLE a;")],
        )],
        errors: vec![migrade::discover::PathError { path: "x:y,z.sql".into(), message: "cannot read:\nreason".into() }],
    }
}

#[test]
fn sarif_edge_cases_in_process() {
    let sarif: Value = serde_json::from_str(&migrade::report::sarif::render(&synthetic_run())).expect("JSON");
    let results = sarif["runs"][0]["results"].as_array().expect("results");
    assert_eq!(results.len(), 3);
    let reg = |i: usize| &results[i]["locations"][0]["physicalLocation"]["region"];
    assert_eq!((n(&reg(0)["startLine"]), n(&reg(0)["startColumn"]), n(&reg(0)["endColumn"])), (2, 1, 14));
    // An empty span stays empty.
    assert_eq!((n(&reg(1)["startColumn"]), n(&reg(1)["endColumn"])), (1, 1));
    // `ü` is one code point: columns 4..5 (exclusive).
    assert_eq!((n(&reg(2)["startColumn"]), n(&reg(2)["endColumn"])), (4, 5));
    assert_eq!(results[2]["message"]["text"], "on ü");
    assert_eq!(results[2]["suppressions"][0]["kind"], "inSource");
    assert!(results[2]["suppressions"][0].get("justification").is_none());
    assert_eq!(results[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"], "dir/%C3%A4%20b.sql");
    assert_eq!(sarif["runs"][0]["invocations"][0]["executionSuccessful"], false);
}

// ---------------------------------------------------------------- GitHub

/// Splits `::cmd k=v,k=v::data` into (cmd, properties unescaped, raw data).
fn parse_command(line: &str) -> (String, Vec<(String, String)>, String) {
    let rest = line.strip_prefix("::").unwrap_or_else(|| panic!("not a workflow command: {line:?}"));
    let (head, data) = rest.split_once("::").unwrap_or_else(|| panic!("no `::` before the message: {line:?}"));
    let (cmd, props) = head.split_once(' ').unwrap_or((head, ""));
    let unescape = |s: &str| {
        s.replace("%2C", ",").replace("%3A", ":").replace("%0A", "\n").replace("%0D", "\r").replace("%25", "%")
    };
    let props = props
        .split(',')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or_else(|| panic!("property without `=`: {p:?} in {line:?}"));
            (k.to_string(), unescape(v))
        })
        .collect();
    (cmd.to_string(), props, data.to_string())
}

fn prop<'a>(props: &'a [(String, String)], key: &str) -> Option<&'a str> {
    props.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

#[test]
fn github_commands_escape_hostile_names_and_match_json_positions() {
    let dir = hostile_dir();
    let out = lint(dir.path(), "github", &["."]);
    let report = json(dir.path(), &["."]);
    assert!(!out.contains('\r'), "a raw CR in the output");
    for line in out.lines() {
        assert!(
            line.starts_with("::error ") || line.starts_with("::warning ") || line.starts_with("::notice "),
            "not an annotation: {line:?}"
        );
    }
    // The exact escaped file property (`,` → %2C, `:` → %3A, `%` → %25; spaces stay).
    assert!(out.contains("::error file=we%2Cird%3Ana%25me x.sql,line=1,"), "{out}");
    assert!(out.contains("file=two words.sql,"), "{out}");
    assert!(out.contains("::error file=bin%2Cary.sql,title=migrade%3A cannot lint this file::binary file"), "{out}");

    let findings: Vec<_> = json_findings(&report).into_iter().filter(|(_, x)| x["ignored"] == false).collect();
    let lines: Vec<&str> = out.lines().collect();
    let errors = report["errors"].as_array().expect("errors").len();
    assert_eq!(lines.len(), findings.len() + errors);
    let mut multi_line = 0;
    for (line, (path, x)) in lines.iter().zip(&findings) {
        let (cmd, props, data) = parse_command(line);
        let expected = match x["level"].as_str().expect("level") {
            "low" => "notice",
            "medium" => "warning",
            _ => "error",
        };
        assert_eq!(cmd, expected);
        assert_eq!(prop(&props, "file"), Some(path.as_str()));
        let num = |k: &str| prop(&props, k).map(|v| v.parse::<u64>().unwrap_or_else(|_| panic!("{k}={v}")));
        assert_eq!(num("line"), Some(n(&x["line"])), "{line}");
        assert_eq!(num("endLine"), Some(n(&x["end_line"])), "{line}");
        if x["line"] == x["end_line"] {
            assert_eq!(num("col"), Some(n(&x["column"])), "{line}");
            assert_eq!(num("endColumn"), Some(n(&x["end_column"])), "{line}");
        } else {
            multi_line += 1;
            assert_eq!(num("col"), None, "col on a multi-line annotation: {line}");
            assert_eq!(num("endColumn"), None, "endColumn on a multi-line annotation: {line}");
        }
        let title = prop(&props, "title").expect("title");
        assert!(title.contains(x["rule"].as_str().expect("rule")), "{title}");
        // message + newline + help, the newline escaped.
        let want = format!("{}\n{}", x["message"].as_str().expect("m"), x["help"].as_str().expect("h"))
            .replace('%', "%25")
            .replace('\r', "%0D")
            .replace('\n', "%0A");
        assert!(data.contains("%0A") && !data.contains('\n'));
        assert_eq!(data, want);
    }
    assert!(multi_line >= 1, "the fixture has a two-line finding");
}

#[test]
fn github_escapes_messages_and_properties_exactly() {
    let out = migrade::report::github::render(&synthetic_run());
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert_eq!(
        lines[0],
        "::error file=dir/ä b.sql,line=2,endLine=2,col=1,endColumn=13,\
         title=migrade drop-table (very-high) — file grade very-high\
         ::first line%0D%0Asecond: 100%25 sure, really%0Ahelp%0Amore"
    );
    assert_eq!(
        lines[1],
        "::notice file=dir/ä b.sql,line=1,endLine=1,col=1,endColumn=1,\
         title=migrade missing-down-migration (low) — file grade very-high::empty span%0Ah"
    );
    assert_eq!(lines[2], "::error file=x%3Ay%2Cz.sql,title=migrade%3A cannot lint this file::cannot read:%0Areason");
    assert_eq!(migrade::report::github::escape_data("a%b\r\nc:d,e"), "a%25b%0D%0Ac:d,e");
    assert_eq!(migrade::report::github::escape_property("a%b\r\nc:d,e"), "a%25b%0D%0Ac%3Ad%2Ce");
}

// ---------------------------------------------------------------- Markdown

const TABLE_HEADER: &str = "| file | grade | deploy | backup | review | top findings |";

#[test]
fn markdown_table_and_plans() {
    let out = lint(&root(), "markdown", &[FIXTURES]);
    assert!(out.len() <= migrade::report::markdown::LIMIT);
    assert!(out.starts_with("## migrade: worst grade **very-high**"), "{out}");
    let lines: Vec<&str> = out.lines().collect();
    let h = lines.iter().position(|l| *l == TABLE_HEADER).expect("table header");
    assert_eq!(lines[h + 1], "|---|---|---|---|---|---|");
    // The table runs unbroken to its first blank line; every row has the six cells.
    let rows: Vec<&str> = lines[h + 2..].iter().take_while(|l| !l.is_empty()).copied().collect();
    assert_eq!(rows.len(), 1, "only the file with findings: {rows:?}");
    for r in &rows {
        assert!(r.starts_with("| ") && r.ends_with(" |"), "{r}");
        assert_eq!(r.replace("\\|", "").matches('|').count(), 7, "{r}");
    }
    assert!(
        rows[0].starts_with(
            "| `fixtures/formats/002_risky.sql` | **very-high** | manual | required | yes | `drop-table` (very-high)"
        ),
        "{}",
        rows[0]
    );
    assert!(!rows[0].contains("drop-column"), "ignored findings are not top findings");
    // The plan, collapsed, after the table.
    let details = out
        .find("<details><summary>expand/contract plan for <code>fixtures/formats/002_risky.sql</code>")
        .expect("a <details> plan block");
    assert!(details > out.find(rows[0]).expect("row"));
    assert!(out[details..].contains("```sql\nCREATE INDEX CONCURRENTLY"), "{out}");
    assert!(out[details..].contains("</details>"));
    assert!(!out.contains("truncated"));
}

#[test]
fn markdown_stays_under_the_comment_limit() {
    let dir = tempfile::tempdir().expect("tempdir");
    for i in 0..3000 {
        let sql = format!("CREATE INDEX i{i} ON t{i} (a);\nALTER TABLE t{i} DROP COLUMN c;\nDROP TABLE u{i};\n");
        std::fs::write(dir.path().join(format!("m{i:04}_risky.sql")), sql).expect("write");
    }
    for i in 0..1000 {
        std::fs::write(dir.path().join(format!("z{i:04}_binary.sql")), b"\0").expect("write");
    }
    let opts = migrade::run::RunOptions {
        paths: vec![dir.path().to_string_lossy().into_owned()],
        discover: Default::default(),
        layout: None,
        max_file_size: migrade::run::DEFAULT_MAX_FILE_SIZE,
        only: None,
        history_from_siblings: true,
    };
    let run = migrade::run::run(&opts, &migrade::lint::Settings::default()).expect("run");
    assert_eq!(run.files.len(), 3000);
    assert_eq!(run.errors.len(), 1000);
    assert!(run.files.iter().all(|f| !f.plan.is_empty() && f.grade == Level::VeryHigh));

    let out = migrade::report::markdown::render(&run);
    assert!(out.len() <= 65_536, "{} bytes", out.len());
    assert!(out.chars().count() <= 65_536);
    assert!(out.contains(TABLE_HEADER));
    let rows = out.lines().filter(|l| l.starts_with("| `")).count();
    assert!(rows > 10 && rows < 3000, "{rows} rows");
    assert!(
        out.contains(&format!("_…{} more file(s) with findings not shown: the report was truncated", 3000 - rows)),
        "the truncation note: {}",
        &out[out.len().saturating_sub(600)..]
    );
    assert!(out.contains("**Errors**"));
    let errors = out.lines().filter(|l| l.starts_with("- `")).count();
    assert!(errors > 0 && errors < 1000, "{errors} errors listed");
    assert!(out.contains(&format!("_…{} more error(s) not shown", 1000 - errors)));
    assert!(out.contains("more plan(s) not shown"));

    // A smaller limit still holds, with every section cut.
    let small = migrade::report::markdown::render_with_limit(&run, 8_000);
    assert!(small.len() <= 8_000, "{} bytes", small.len());
    assert!(small.contains("truncated"));
}

/// A folder like the one that lost 151 of 456 files to the cut: many low and medium files
/// with long messages, a few high and very-high ones, and down migrations.
fn big_run() -> RunReport {
    let text = "ALTER TABLE t ADD COLUMN c varchar(20);\n";
    let long = "x".repeat(300);
    let mut files = Vec::new();
    for i in 0..456 {
        let level = match i % 100 {
            7 => Level::VeryHigh,
            13 | 42 => Level::High,
            _ if i % 3 == 0 => Level::Medium,
            _ => Level::Low,
        };
        let findings = (0..4)
            .map(|k| {
                let l = if k == 0 { level } else { Level::Low };
                finding("prefer-text-over-char", l, Span { start: 0, end: 5 }, &format!("{i} {k} {long}"), "h")
            })
            .collect();
        let mut f = file(&format!("db/{i:04}_m.up.sql"), text, level, findings, Vec::new());
        if i % 5 == 0 {
            f.path = format!("db/{i:04}_m.down.sql");
            f.direction = Direction::Down;
        }
        files.push(f);
    }
    RunReport { files, errors: Vec::new() }
}

#[test]
fn markdown_shortens_low_rows_first_and_keeps_every_very_high_file() {
    let run = big_run();
    let out = migrade::report::markdown::render(&run);
    assert!(out.len() <= migrade::report::markdown::LIMIT, "{} bytes", out.len());
    // Every very-high file is in a table.
    for f in run.files.iter().filter(|f| f.grade == Level::VeryHigh) {
        assert!(out.contains(&format!("| `{}` | **very-high** |", f.path)), "{} dropped", f.path);
    }
    // Very-high rows keep their messages; low rows were shortened first.
    let vh = out.lines().find(|l| l.contains("| **very-high** |")).expect("a very-high row");
    assert!(vh.contains(&"x".repeat(300)), "{vh}");
    let low = out.lines().find(|l| l.contains("| **low** |")).expect("a low row");
    assert!(!low.contains("xxxx"), "a low row kept its message: {low}");
    let note = out.lines().find(|l| l.starts_with("_Shortened to stay under GitHub's 65536-character limit: "));
    let note = note.unwrap_or_else(|| panic!("a note: {}", &out[out.len() - 800..]));
    assert!(note.split("; ").any(|c| c.contains(" low") && c.contains("show their top rule only")), "{note}");
    assert!(!note.contains("very-high"), "very-high rows are shortened last: {note}");
    // Worst first, up migrations before the down table.
    let grades: Vec<&str> = out
        .lines()
        .take_while(|l| !l.starts_with("### Down migrations"))
        .filter(|l| l.starts_with("| `"))
        .map(|l| l.split(" | ").nth(1).expect("grade cell"))
        .collect();
    let rank = |g: &str| ["**low**", "**medium**", "**high**", "**very-high**"].iter().position(|x| *x == g);
    assert!(grades.windows(2).all(|w| rank(w[0]) >= rank(w[1])), "{grades:?}");
    let downs = out.find("### Down migrations").expect("a down table");
    assert!(out[downs..].contains(".down.sql` |"));
    assert!(!out[..downs].contains(".down.sql` |"), "downs in the up table");

    // Smaller limits: rows are left out, low first, very-high rows last of all.
    let small = migrade::report::markdown::render_with_limit(&run, 12_000);
    assert!(small.len() <= 12_000, "{} bytes", small.len());
    for f in run.files.iter().filter(|f| f.grade == Level::VeryHigh) {
        assert!(small.contains(&format!("| `{}` | **very-high** |", f.path)), "{} dropped", f.path);
    }
    assert!(!small.contains("| **low** |"), "low rows go before very-high ones");
    assert!(small.contains("more file(s) with findings not shown"), "{small}");
    let note = small.lines().find(|l| l.contains("more file(s) with findings not shown")).expect("note");
    let lows = run.files.iter().filter(|f| f.grade == Level::Low).count();
    assert!(note.contains(&format!("{lows} low")) && note.contains("are left out"), "every low row first: {note}");
    assert!(!note.contains("very-high file row(s) are left out"), "{note}");
}

#[test]
fn markdown_with_no_file_says_none_as_the_action_does() {
    let run = RunReport { files: Vec::new(), errors: Vec::new() };
    let out = migrade::report::markdown::render(&run);
    assert!(out.starts_with("## migrade: worst grade **none**"), "{out}");
    assert!(!out.contains("worst grade **low"), "{out}");
    assert!(out.contains("| _no files linted_ | none |"), "{out}");
    let one =
        RunReport { files: vec![file("a.sql", "SELECT 1;\n", Level::Low, Vec::new(), Vec::new())], errors: Vec::new() };
    assert!(migrade::report::markdown::render(&one).starts_with("## migrade: worst grade **low**"));
}

// ---------------------------------------------------------------- gcc

#[test]
fn gcc_lines_have_the_gcc_shape() {
    let dir = hostile_dir();
    let out = lint(dir.path(), "gcc", &["."]);
    let report = json(dir.path(), &["."]);
    let finding_re = regex::Regex::new(r"^(?P<path>.+?):(?P<line>\d+):(?P<col>\d+): (?P<level>error|warning|note): (?P<msg>.+) \[(?P<rule>[a-z0-9-]+)\]$")
        .expect("regex");
    let error_re = regex::Regex::new(r"^(?P<path>.+?):1:1: error: (?P<msg>.+)$").expect("regex");
    let findings: Vec<_> = json_findings(&report).into_iter().filter(|(_, x)| x["ignored"] == false).collect();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), findings.len() + 1);
    for (line, (path, x)) in lines.iter().zip(&findings) {
        let c =
            finding_re.captures(line).unwrap_or_else(|| panic!("not path:line:col: level: message [rule]: {line:?}"));
        assert_eq!(&c["path"], path.as_str());
        assert_eq!(c["line"].parse::<u64>().ok(), Some(n(&x["line"])));
        assert_eq!(c["col"].parse::<u64>().ok(), Some(n(&x["column"])));
        assert_eq!(&c["level"], level_of(x["level"].as_str().expect("level")));
        assert_eq!(&c["rule"], x["rule"].as_str().expect("rule"));
        assert!(c["msg"].starts_with(x["message"].as_str().expect("message")));
    }
    let last = lines.last().expect("error line");
    let c = error_re.captures(last).unwrap_or_else(|| panic!("{last:?}"));
    assert_eq!(&c["path"], "bin,ary.sql");

    // Line breaks in a message never split a diagnostic.
    let out = migrade::report::gcc::render(&synthetic_run());
    assert_eq!(out.lines().count(), 3, "{out}");
    assert_eq!(
        out.lines().next(),
        Some("dir/ä b.sql:2:1: error: first line second: 100% sure, really (very-high) [drop-table]")
    );
    for line in out.lines().take(2) {
        assert!(finding_re.is_match(line), "{line:?}");
    }
}
