//! Throughput of the overlap stage: the copy tier (signatures + LSH + verification +
//! union-find) on one core and on two, the story and quote tiers on one core. Reads the
//! ecbplus-syndication-synth dev corpus from ../shared/corpora when present (else a synthetic
//! set), prints one JSON line per measurement and writes them to target/overlap-bench.json
//! so `make bench-overlap` can set them beside the datasketch peer.

use newsmill::overlap::{self, copies, eval, EvalLevel, OverlapConfig, OverlapDoc, OverlapQuote};
use std::time::Instant;

fn load() -> (Vec<eval::Labelled>, String) {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/corpora/ecbplus-syndication-synth/dev.jsonl");
    if p.exists() {
        return (
            eval::read_labelled(&p, "text", "dup_group", None).expect("corpus"),
            "ecbplus-syndication-synth/dev".into(),
        );
    }
    eprintln!(
        "corpus not found at {}; using synthetic documents",
        p.display()
    );
    let mut docs = Vec::new();
    let mut x: u64 = 7;
    for g in 0..800 {
        let words: Vec<String> = (0..300)
            .map(|_| {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                format!("w{}", (x >> 33) % 5000)
            })
            .collect();
        for v in 0..3 {
            let cut = words.len() * (3 - v) / 3;
            docs.push(eval::Labelled {
                id: format!("{g}-{v}"),
                text: words[..cut.max(30)].join(" "),
                gold: g.to_string(),
            });
        }
    }
    (docs, "synthetic".into())
}

fn best_of<T>(n: usize, mut f: impl FnMut() -> T) -> (f64, T) {
    let mut best = f64::MAX;
    let mut last = None;
    for _ in 0..n {
        let t = Instant::now();
        let r = f();
        best = best.min(t.elapsed().as_secs_f64());
        last = Some(r);
    }
    (best, last.unwrap())
}

fn copies_once(docs: &[eval::Labelled], cfg: &OverlapConfig) -> Vec<usize> {
    let sigs = copies::sketch_all(
        docs.iter()
            .map(|d| (d.id.as_str(), d.text.as_str(), None))
            .collect::<Vec<_>>(),
    );
    copies::cluster(&sigs, &cfg.copies)
        .into_iter()
        .map(|a| a.canonical)
        .collect()
}

fn main() {
    // `cargo bench` passes --bench; nothing to parse.
    let (docs, name) = load();
    let cfg = OverlapConfig::default();
    let bytes: usize = docs.iter().map(|d| d.text.len()).sum();
    let gold: Vec<&str> = docs.iter().map(|d| d.gold.as_str()).collect();
    let mut lines = Vec::new();
    for threads in [1usize, 2] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let (secs, pred) = pool.install(|| best_of(5, || copies_once(&docs, &cfg)));
        let s = eval::score(&pred, &gold);
        lines.push(serde_json::json!({
            "bench": "overlap.copies", "corpus": name, "threads": threads, "documents": docs.len(),
            "seconds": secs, "docs_per_second": docs.len() as f64 / secs, "mb_per_second": bytes as f64 / 1e6 / secs,
            "ari": s.ari, "num_perm": overlap::NUM_PERM, "bands": cfg.copies.bands, "rows": cfg.copies.rows,
        }));
    }
    // Whole stage on one core (copies + stories + quotes over naive quoted spans).
    let odocs: Vec<OverlapDoc> = docs
        .iter()
        .map(|d| OverlapDoc {
            doc_id: &d.id,
            text: &d.text,
            title: None,
            published_at: None,
            entity_ids: vec![],
        })
        .collect();
    let mut quotes = Vec::new();
    for (i, d) in docs.iter().enumerate() {
        for (k, piece) in d.text.split('"').enumerate() {
            if k % 2 == 1 {
                quotes.push(OverlapQuote {
                    doc: i,
                    text: piece,
                    speaker_entity_id: None,
                });
            }
        }
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let (secs, out) = pool.install(|| best_of(3, || overlap::run(&odocs, &quotes, &cfg)));
    lines.push(serde_json::json!({
        "bench": "overlap.run", "corpus": name, "threads": 1, "documents": docs.len(), "quotes": quotes.len(),
        "seconds": secs, "docs_per_second": docs.len() as f64 / secs, "mb_per_second": bytes as f64 / 1e6 / secs,
        "stories": out.stories.len(), "quote_clusters": out.quote_clusters.len(),
    }));
    let _ = EvalLevel::Copies;
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    print!("{text}");
    let target = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target");
    let _ = std::fs::write(target.join("overlap-bench.json"), text);
}
