//! The parser's share of a lint, for the benchmark: reads every `*.sql` file under a
//! folder, splits it and parses each statement with pg_query (libpg_query's grammar,
//! its protobuf encoding and decoding; then again with the conversion to migrade's IR),
//! on one thread, and prints the time of each step. No rules, no schema history, no report.
//!
//! Run: `cargo run --release --example parse_floor -- ../shared/corpus`

use std::time::{Duration, Instant};

/// The same allocator as the `migrade` binary, so the floor is measured as the lint runs.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let Some(root) = std::env::args().nth(1) else {
        eprintln!("usage: parse_floor DIR");
        std::process::exit(2);
    };
    let (mut files, mut statements, mut bytes) = (0usize, 0usize, 0usize);
    let (mut read, mut split, mut parse) = (Duration::ZERO, Duration::ZERO, Duration::ZERO);
    let mut pg_query_only = Duration::ZERO;
    for entry in walkdir::WalkDir::new(&root).sort_by_file_name() {
        let Ok(entry) = entry else { continue };
        if !entry.file_type().is_file() || entry.path().extension().is_none_or(|x| x != "sql") {
            continue;
        }
        let t = Instant::now();
        let Ok(text) = std::fs::read_to_string(entry.path()) else { continue };
        read += t.elapsed();
        files += 1;
        bytes += text.len();
        let t = Instant::now();
        let sp = migrade::split::split(&text);
        split += t.elapsed();
        let terminated = || sp.statements.iter().filter(|s| s.unterminated.is_none());
        let t = Instant::now();
        for s in terminated() {
            let _ = migrade::parse::pg_query_only(&text[s.start..s.body_end]);
        }
        pg_query_only += t.elapsed();
        let t = Instant::now();
        for s in terminated() {
            statements += 1;
            let _ = migrade::parse::parse_statement(&text[s.start..s.body_end], s.start);
        }
        parse += t.elapsed();
    }
    println!(
        "{files} files, {:.2} MB, {statements} statements; one thread: read {:.3}s, split {:.3}s, pg_query alone {:.3}s, pg_query + IR {:.3}s",
        bytes as f64 / 1e6,
        read.as_secs_f64(),
        split.as_secs_f64(),
        pg_query_only.as_secs_f64(),
        parse.as_secs_f64()
    );
}
