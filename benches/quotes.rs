//! Throughput of the quote stage on one core: the seed reports and, when present, the
//! PolNeAR dev texts, run through `QuoteExtractor::extract` repeatedly on this thread.

use std::path::{Path, PathBuf};
use std::time::Instant;

use newsmill::quotes::{QuoteExtractor, QuotesConfig};

fn texts(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for dir in [root.join("../shared/seeds"), root.join("../shared/corpora/polnear/dev/text")] {
        let Ok(rd) = std::fs::read_dir(&dir) else {
            eprintln!("skipping {} (not found)", dir.display());
            continue;
        };
        let mut paths: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.extension().is_some_and(|x| x == "txt")).collect();
        paths.sort();
        for p in paths {
            if let Ok(t) = std::fs::read_to_string(&p) {
                out.push(t);
            }
        }
    }
    out
}

/// CPU seconds used by this thread (Linux; `None` elsewhere). On a shared machine the
/// wall clock also counts time spent waiting for a core, so both figures are printed.
fn thread_cpu() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
    let rest = &s[s.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = f.get(11)?.parse().ok()?;
    let stime: f64 = f.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

fn run(name: &str, ex: &QuoteExtractor, docs: &[String]) {
    let bytes: usize = docs.iter().map(|d| d.len()).sum();
    // Warm up, then time enough rounds for about a second.
    let mut n_quotes = 0;
    for d in docs {
        n_quotes += ex.extract(d, &[]).len();
    }
    let mut rounds = 0;
    let cpu0 = thread_cpu();
    let start = Instant::now();
    // On a shared machine a round is slowed by whatever else runs; the fastest round is the
    // steadiest figure for comparing two builds, so it is printed beside the mean.
    let mut best = f64::INFINITY;
    while start.elapsed().as_secs_f64() < 3.0 || rounds < 2 {
        let t = Instant::now();
        for d in docs {
            std::hint::black_box(ex.extract(d, &[]));
        }
        best = best.min(t.elapsed().as_secs_f64());
        rounds += 1;
    }
    let secs = start.elapsed().as_secs_f64();
    let mbs = (bytes * rounds) as f64 / secs / 1e6;
    let cpu = match (cpu0, thread_cpu()) {
        (Some(a), Some(b)) if b > a => format!(", {:.1} MB/s per CPU second", (bytes * rounds) as f64 / (b - a) / 1e6),
        _ => String::new(),
    };
    println!(
        "quotes/{name}: {} docs, {:.2} MB x {rounds} rounds in {secs:.2} s = {mbs:.1} MB/s on one core (wall){cpu}, fastest round {:.1} MB/s; {n_quotes} quotes per round",
        docs.len(),
        bytes as f64 / 1e6,
        bytes as f64 / best / 1e6
    );
}

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let docs = texts(&root);
    if docs.is_empty() {
        eprintln!("skipping: no texts");
        return;
    }
    run("rules", &QuoteExtractor::rules_only(), &docs);
    match QuoteExtractor::load(&root.join("models"), &QuotesConfig::default()) {
        Ok(ex) => run("rules+tagger", &ex, &docs),
        Err(e) => eprintln!("skipping tagger: {e:#}"),
    }
}
