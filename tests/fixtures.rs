//! Runs every fixture in fixtures/rules: each line's `-- expect: rule[=level], ...`
//! must equal the findings that start on that line; lines without it must have none
//! (besides the rules the file's `-- fixture-ignore:` header lists).

use migrade::lint::{Settings, lint_unit};
use migrade::model::{Direction, Level};
use migrade::schema::Schema;
use migrade::source::LineIndex;
use migrade::unit::{TxWrap, Unit};
use std::collections::BTreeMap;

fn header<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.lines().take(5).find_map(|l| l.trim().strip_prefix(key)).map(str::trim)
}

#[test]
fn rule_fixtures() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/rules");
    let mut failures = Vec::new();
    let mut checked = 0;
    let mut paths: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    paths.sort();
    for path in paths {
        let text = std::fs::read_to_string(&path).unwrap();
        let ignore: Vec<&str> =
            header(&text, "-- fixture-ignore:").map(|h| h.split(',').map(str::trim).collect()).unwrap_or_default();
        let mut settings = Settings::default();
        if let Some(v) = header(&text, "-- pg-version:") {
            settings.pg_version = v.parse().unwrap();
        }
        let unit = Unit::plain(path.display().to_string(), text.clone(), Direction::Up, TxWrap::Never);
        let report = lint_unit(&unit, &mut Schema::default(), &settings);
        let index = LineIndex::new(&text);
        let mut got: BTreeMap<usize, Vec<(String, Level)>> = BTreeMap::new();
        for f in report.findings.iter().filter(|f| !f.ignored && !ignore.contains(&f.rule)) {
            let line = index.line_col(&text, f.span.start).line;
            got.entry(line).or_default().push((f.rule.to_string(), f.level));
        }
        for (n, line) in text.lines().enumerate() {
            let n = n + 1;
            let mut want: Vec<(String, Option<Level>)> = match line.find("-- expect:") {
                Some(i) => line[i + 10..]
                    .split(',')
                    .map(|s| {
                        let s = s.trim();
                        match s.split_once('=') {
                            Some((r, l)) => (r.to_string(), Some(Level::parse(l).unwrap())),
                            None => (s.to_string(), None),
                        }
                    })
                    .collect(),
                None => vec![],
            };
            let mut have = got.remove(&n).unwrap_or_default();
            want.sort();
            have.sort();
            let names_have: Vec<&str> = have.iter().map(|(r, _)| r.as_str()).collect();
            let names_want: Vec<&str> = want.iter().map(|(r, _)| r.as_str()).collect();
            if names_have != names_want {
                failures.push(format!("{}:{n}: expected {names_want:?}, got {have:?}\n    {line}", path.display()));
                continue;
            }
            for ((r, wl), (_, hl)) in want.iter().zip(&have) {
                if let Some(wl) = wl
                    && wl != hl
                {
                    failures.push(format!("{}:{n}: {r} expected level {wl}, got {hl}", path.display()));
                }
            }
            checked += want.len();
        }
        for (line, rest) in got {
            failures.push(format!("{}:{line}: unexpected findings on a line past the end: {rest:?}", path.display()));
        }
    }
    assert!(failures.is_empty(), "{} fixture mismatches:\n{}", failures.len(), failures.join("\n"));
    assert!(checked > 60, "only {checked} expectations checked");
}
