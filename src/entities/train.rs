//! Training entry point behind `make model`: reads CoNLL-2003 train, trains the tagger
//! deterministically and writes `models/ner.model`.
//!
//! Kept in the library (not only in the training binary) so tests can check that training
//! is deterministic and the pipeline can be retrained from any front end.

use std::path::{Path, PathBuf};

use anyhow::Context;

use super::conll::read_conll;
use super::tagger::{self, Model, TrainConfig};
use super::{eval_conll_score, Recognizer, MODEL_FILE};

/// What to train on and where to write.
#[derive(Debug, Clone)]
pub struct TrainArgs {
    /// CoNLL training file (`../shared/corpora/conll2003/eng.train`).
    pub train: PathBuf,
    /// Optional CoNLL dev file scored after each epoch (progress only; the model is the one
    /// after the last epoch).
    pub dev: Option<PathBuf>,
    /// The models folder (gazetteers are read from it; `ner.model` is written to it).
    pub models: PathBuf,
    /// Learner settings.
    pub config: TrainConfig,
    /// Also train a second-pass model on jackknifed first-pass tags.
    pub two_pass: bool,
}

/// Trains and writes the model; returns the path written. Progress goes to stderr.
pub fn train(args: &TrainArgs) -> anyhow::Result<PathBuf> {
    let docs = read_conll(&args.train).with_context(|| format!("reading training data {}", args.train.display()))?;
    let gaz = super::load_lexicon(&args.models)?;
    let train_docs: Vec<tagger::TrainDoc> = docs
        .iter()
        .map(|d| {
            let mut t = d.to_train();
            for s in t.tokens.iter_mut() {
                *s = super::tokenize::normalize_token(s).into_owned();
            }
            t
        })
        .collect();
    let n_tokens: usize = train_docs.iter().map(|d| d.tokens.len()).sum();
    eprintln!("training on {} documents, {} tokens; {} gazetteer entries", train_docs.len(), n_tokens, gaz.len());
    let dev = args.dev.clone();
    let gaz2 = gaz.clone();
    let model = tagger::train(&train_docs, &gaz, &args.config, |epoch, m: &Model| {
        if let Some(dev) = &dev {
            let rec = Recognizer::from_parts(m.clone(), gaz2.clone());
            match eval_conll_score(&rec, dev) {
                Ok(s) => eprintln!("epoch {:2}: dev F1 {:.4} (P {:.4} R {:.4})", epoch + 1, s.overall.f1, s.overall.precision, s.overall.recall),
                Err(e) => eprintln!("epoch {:2}: dev scoring failed: {e:#}", epoch + 1),
            }
        } else {
            eprintln!("epoch {:2} done", epoch + 1);
        }
    });
    let out = args.models.join(MODEL_FILE);
    model.save(&out)?;
    let out2 = args.models.join(super::MODEL2_FILE);
    if args.two_pass {
        // First-pass tags for the second pass come from models that did not see the document
        // (k-fold jackknife), so the second pass learns how far to trust the first.
        let k = 4;
        let mut firsts: Vec<Vec<u8>> = vec![Vec::new(); train_docs.len()];
        for fold in 0..k {
            let part: Vec<tagger::TrainDoc> = train_docs.iter().enumerate().filter(|(i, _)| i % k != fold).map(|(_, d)| d.clone()).collect();
            let m = tagger::train(&part, &gaz, &args.config, |_, _| {});
            for (i, d) in train_docs.iter().enumerate().filter(|(i, _)| i % k == fold) {
                let toks: Vec<&str> = d.tokens.iter().map(|s| s.as_str()).collect();
                firsts[i] = m.tag_doc(&toks, &d.sents, &gaz).tags;
            }
            eprintln!("first-pass fold {}/{k} done", fold + 1);
        }
        let gaz3 = gaz.clone();
        let m1 = model.clone();
        let dev2 = args.dev.clone();
        let model2 = tagger::train_with(&train_docs, Some(&firsts), &gaz, &args.config, |epoch, m2: &Model| {
            if let Some(dev) = &dev2 {
                let rec = Recognizer::from_parts(m1.clone(), gaz3.clone()).with_second_pass(m2.clone());
                if let Ok(s) = eval_conll_score(&rec, dev) {
                    eprintln!("second pass epoch {:2}: dev F1 {:.4} (P {:.4} R {:.4})", epoch + 1, s.overall.f1, s.overall.precision, s.overall.recall);
                }
            }
        });
        model2.save(&out2)?;
        eprintln!("wrote {}", out2.display());
    } else if out2.exists() {
        std::fs::remove_file(&out2)?;
    }
    let size = std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0);
    eprintln!("wrote {} ({:.1} MB)", out.display(), size as f64 / 1e6);
    Ok(out)
}

/// Trains in memory on a CoNLL file (used by the determinism test); returns the model bytes
/// as they would be saved.
pub fn train_to_bytes(train: &Path, models: &Path, config: &TrainConfig, max_docs: usize) -> anyhow::Result<Vec<u8>> {
    let docs = read_conll(train)?;
    let gaz = super::load_lexicon(models)?;
    let train_docs: Vec<tagger::TrainDoc> = docs.iter().take(max_docs).map(|d| d.to_train()).collect();
    let model = tagger::train(&train_docs, &gaz, config, |_, _| {});
    let dir = std::env::temp_dir().join(format!("newsmill-train-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let p = dir.join(format!("m{}.model", xxhash_rust::xxh3::xxh3_64(train.to_string_lossy().as_bytes())));
    model.save(&p)?;
    let b = std::fs::read(&p)?;
    let _ = std::fs::remove_file(&p);
    Ok(b)
}
