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
