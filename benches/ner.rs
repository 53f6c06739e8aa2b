//! Tagging throughput of the entity recognizer on one core (`cargo bench --bench ner`).
//!
//! Two measurements: (1) name tagging over CoNLL-2003 dev with gold tokenization (what
//! `eval ner` times), and (2) full `Recognizer::extract` on raw report text (tokenizer,
//! sentence splitter, tagger, gazetteers, numeric rules). Reports the best of several rounds
//! in tokens per second. No file I/O is timed.

use std::path::PathBuf;
use std::time::Instant;

use newsmill::entities::{conll, tokenize, Recognizer};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn main() {
    let rec = match Recognizer::load(&root().join("models")) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("skipping: {e:#}");
            return;
        }
    };
    let rounds = 15;
    let dev = root().join("../shared/corpora/conll2003/eng.testa");
    if dev.exists() {
        let docs = conll::read_conll(&dev).expect("read dev");
        let norm: Vec<Vec<String>> = docs.iter().map(|d| d.tokens.iter().map(|t| tokenize::normalize_token(t).into_owned()).collect()).collect();
        let refs: Vec<Vec<&str>> = norm.iter().map(|d| d.iter().map(|s| s.as_str()).collect()).collect();
        let n: usize = refs.iter().map(|d| d.len()).sum();
        let mut best = f64::INFINITY;
        let mut found = 0;
        for _ in 0..rounds {
            let t0 = Instant::now();
            found = 0;
            for (d, r) in docs.iter().zip(&refs) {
                found += rec.tag_names(r, &d.sents).len();
            }
            best = best.min(t0.elapsed().as_secs_f64());
        }
        println!("ner/tag_names conll2003 dev: {n} tokens, {found} names, best {best:.4} s, {:.0} tokens/s", n as f64 / best);
    } else {
        eprintln!("skipping CoNLL bench: {} not found", dev.display());
    }
    let seeds = root().join("../shared/seeds");
    let mut text = String::new();
    if let Ok(rd) = std::fs::read_dir(&seeds) {
        let mut paths: Vec<_> = rd.filter_map(|e| e.ok()).map(|e| e.path()).collect();
        paths.sort();
        for p in paths {
            text += &std::fs::read_to_string(p).unwrap_or_default();
            text += "\n\n";
        }
    }
    if text.is_empty() {
        text = "President Donald Trump met Ukrainian President Volodymyr Zelensky at the White House on Monday. ".repeat(50);
    }
    let docs: Vec<String> = (0..40).map(|_| text.clone()).collect();
    let n: usize = docs.iter().map(|d| tokenize::tokenize(d).len()).sum();
    let mut best = f64::INFINITY;
    for _ in 0..rounds {
        let t0 = Instant::now();
        let mut m = 0;
        for d in &docs {
            m += rec.extract(d).len();
        }
        std::hint::black_box(m);
        best = best.min(t0.elapsed().as_secs_f64());
    }
    println!("ner/extract raw text: {n} tokens, best {best:.4} s, {:.0} tokens/s", n as f64 / best);
}
