//! Invariants from the README's architecture map that a test can check.

use std::path::Path;

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn parser_types_stay_in_the_parse_modules() {
    let src = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/src"));
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let mut offenders = Vec::new();
    for f in files {
        let name = f.strip_prefix(src).unwrap().to_string_lossy().to_string();
        if name == "parse.rs" || name == "plpgsql.rs" {
            continue;
        }
        for (n, line) in std::fs::read_to_string(&f).unwrap().lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            if code.contains("pg_query") {
                offenders.push(format!("src/{name}:{}: {}", n + 1, line.trim()));
            }
        }
    }
    assert!(offenders.is_empty(), "pg_query used outside src/parse.rs and src/plpgsql.rs:\n{}", offenders.join("\n"));
}

// No unsafe code: `#![forbid(unsafe_code)]` in src/lib.rs and src/main.rs makes it a compile error.

/// The stages of the pipeline, from the top (what the command line calls) to the bottom
/// (plain data). A module may use only modules below it: data flows one way, there is no
/// import circle, and a newcomer reads a module knowing nothing above it matters.
const STAGES: &[&str] = &[
    "verify",       // migrade verify: runs lint, then a real server
    "plan_cmd",     // migrade plan
    "config",       // migrade.toml + flags -> Settings, one resolver for every subcommand
    "run",          // the lint run: discover, lint each file, report, exit code
    "report",       // writers of reports (human, json, sarif, ...)
    "discover",     // files in migration order, layouts, sections
    "lint",         // the driver: transactions, suppression, grading
    "rules",        // findings
    "plan",         // expand/contract plans, built from the IR
    "facts",        // what a statement does (locks, rewrites, ...)
    "schema",       // the schema history
    "parse",        // pg_query -> IR
    "plpgsql",      // DO / function bodies
    "placeholders", // tool placeholders in SQL text
    "split",        // statements with spans
    "source",       // text + line index
    "unit",         // a migration file as the driver sees it
    "model",        // the report's data
    "ir",           // migrade's statement IR
    "git",          // --changed-since
];

/// The top-level module a file of src/ belongs to (`rules/drop_column.rs` -> `rules`).
fn module_of(rel: &Path) -> String {
    let first = rel.components().next().unwrap().as_os_str().to_string_lossy().to_string();
    first.trim_end_matches(".rs").to_string()
}

/// The code of a line without its comment (a `//` inside a string is rare enough in
/// import paths to ignore).
fn code(line: &str) -> &str {
    line.split("//").next().unwrap_or("")
}

/// Every module of the crate a file names: `crate::x`, and each `x` of `crate::{x, y::z}`.
fn used_modules(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let lines: Vec<&str> = text.lines().map(code).collect();
    let joined = lines.join("\n");
    let line_at = |pos: usize| joined[..pos].matches('\n').count() + 1;
    let mut rest = 0;
    while let Some(i) = joined[rest..].find("crate::") {
        let start = rest + i + "crate::".len();
        let preceded = joined[..rest + i].chars().last().is_some_and(|c| c.is_alphanumeric() || c == '_');
        rest = start;
        if preceded {
            continue;
        }
        let after = &joined[start..];
        if let Some(group) = after.strip_prefix('{') {
            // Top-level names of the group, up to its closing brace.
            let (mut depth, mut name, mut names) = (0, String::new(), Vec::new());
            let mut at_start = true;
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => at_start = true,
                    c if depth == 0 && at_start && (c.is_alphanumeric() || c == '_') => name.push(c),
                    _ if !name.is_empty() => {
                        names.push(std::mem::take(&mut name));
                        at_start = false;
                    }
                    _ => {}
                }
            }
            if !name.is_empty() {
                names.push(name);
            }
            out.extend(names.into_iter().map(|n| (line_at(start), n)));
        } else {
            let name: String = after.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            out.push((line_at(start), name));
        }
    }
    out
}

#[test]
fn stages_use_only_the_stages_below_them() {
    let src = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/src"));
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let rank = |m: &str| STAGES.iter().position(|s| *s == m);
    let mut offenders = Vec::new();
    for f in files {
        let rel = f.strip_prefix(src).unwrap();
        let me = module_of(rel);
        if me == "main" || me == "lib" {
            continue; // the binary is the top; lib.rs only declares the modules
        }
        let Some(my_rank) = rank(&me) else {
            offenders.push(format!("src/{}: module {me} is not in STAGES: give it its place", rel.display()));
            continue;
        };
        let text = std::fs::read_to_string(&f).unwrap();
        // A file's unit tests may drive the whole pipeline: only its code counts.
        let code_part = text.split("#[cfg(test)]").next().unwrap_or("");
        for (line, used) in used_modules(code_part) {
            if used == me || used == "self" {
                continue;
            }
            match rank(&used) {
                Some(r) if r > my_rank => {}
                Some(_) => offenders
                    .push(format!("src/{}:{line}: {me} uses {used}, which is not below it in STAGES", rel.display())),
                None => {} // an item of lib.rs or a macro, not a module
            }
        }
    }
    assert!(offenders.is_empty(), "imports that run upward:\n{}", offenders.join("\n"));
}

#[test]
fn every_module_of_lib_has_a_stage() {
    let lib = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/src/lib.rs")).unwrap();
    let missing: Vec<&str> = lib
        .lines()
        .filter_map(|l| l.trim().trim_start_matches("pub ").strip_prefix("mod "))
        .map(|m| m.trim_end_matches(';'))
        .filter(|m| !STAGES.contains(m))
        .collect();
    assert!(missing.is_empty(), "modules of src/lib.rs missing from STAGES: {missing:?}");
}

/// Every rule file is registered, under its own name: build.rs lists each file of
/// src/rules/ (but mod.rs and ignores.rs) in `rules::ALL`, in file-name order. The file name is the rule id in snake case, so the catalogue is in
/// rule-id order and a newcomer finds a rule's code by its id.
#[test]
fn every_rule_file_is_registered_under_its_id() {
    let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/src/rules"));
    let mut files: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|f| f.ends_with(".rs") && f != "mod.rs" && f != "ignores.rs")
        .map(|f| f.trim_end_matches(".rs").replace('_', "-"))
        .collect();
    files.sort();
    let ids: Vec<&str> = migrade::rules::ALL.iter().map(|r| r.id).collect();
    assert_eq!(ids, files, "rules::ALL must be the files of src/rules/, each RULE's id its file name");
}

/// The rule files are formatted. build.rs `include!`s them, so `cargo fmt` does not
/// reach them: this runs the toolchain's rustfmt on them (CONTRIBUTING.md gives the
/// command that formats them).
#[test]
fn rule_files_are_formatted() {
    let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/src/rules"));
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "rs"))
        .collect();
    files.sort();
    let rustfmt = std::env::var("RUSTFMT").unwrap_or_else(|_| "rustfmt".to_string());
    let out = std::process::Command::new(&rustfmt)
        .args(["--check", "--edition", "2024"])
        .args(&files)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {rustfmt} (rustup component add rustfmt): {e}"));
    assert!(
        out.status.success(),
        "rule files not formatted; run `rustfmt --edition 2024 src/rules/*.rs`:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// No `#[allow(unused_imports)]` silences the compiler where newcomers copy from.
#[test]
fn no_unused_import_allowances() {
    let src = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/src"));
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let offenders: Vec<String> = files
        .iter()
        .filter(|f| std::fs::read_to_string(f).unwrap().contains("allow(unused_imports)"))
        .map(|f| f.display().to_string())
        .collect();
    assert!(offenders.is_empty(), "#[allow(unused_imports)] in: {offenders:?}");
}

/// Rules read the IR and the parse stage's text facts, never the statement's text:
/// `cx.sql` only goes whole to a plan step that runs the statement as written.
#[test]
fn rules_do_not_read_statement_text() {
    let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/src/rules"));
    let mut offenders = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let text = std::fs::read_to_string(&p).unwrap();
        let code_part = text.split("#[cfg(test)]").next().unwrap_or("");
        for (n, line) in code_part.lines().enumerate() {
            let c = code(line);
            if (c.contains("cx.sql") && !c.contains("plan::")) || c.contains("crate::parse::") {
                offenders.push(format!("{}:{}: {}", p.display(), n + 1, line.trim()));
            }
        }
    }
    assert!(offenders.is_empty(), "rules reading statement text (use the IR or TextFacts):\n{}", offenders.join("\n"));
}
