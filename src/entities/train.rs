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
}

/// The first `max_docs` documents of a CoNLL file as training documents, their tokens
/// normalized as the pipeline normalizes them before tagging.
fn read_train_docs(path: &Path, max_docs: usize) -> anyhow::Result<Vec<tagger::TrainDoc>> {
    let docs = read_conll(path).with_context(|| format!("reading training data {}", path.display()))?;
    Ok(docs
        .iter()
        .take(max_docs)
        .map(|d| {
            let mut t = d.to_train();
            for s in t.tokens.iter_mut() {
                *s = super::tokenize::normalize_token(s).into_owned();
            }
            t
        })
        .collect())
}

/// Trains and writes the model; returns the path written. Progress goes to stderr.
pub fn train(args: &TrainArgs) -> anyhow::Result<PathBuf> {
    let train_docs = read_train_docs(&args.train, usize::MAX)?;
    let gaz = super::load_lexicon(&args.models)?;
    let n_tokens: usize = train_docs.iter().map(|d| d.tokens.len()).sum();
    eprintln!("training on {} documents, {} tokens; {} gazetteer entries", train_docs.len(), n_tokens, gaz.len());
    let dev = args.dev.clone();
    let gaz2 = gaz.clone();
    let progress = |epoch: usize, m: &Model| {
        if let Some(dev) = &dev {
            let rec = Recognizer::from_parts(m.clone(), gaz2.clone());
            match eval_conll_score(&rec, dev) {
                Ok(s) => eprintln!("epoch {:2}: dev F1 {:.4} (P {:.4} R {:.4})", epoch + 1, s.overall.f1, s.overall.precision, s.overall.recall),
                Err(e) => eprintln!("epoch {:2}: dev scoring failed: {e:#}", epoch + 1),
            }
        } else {
            eprintln!("epoch {:2} done", epoch + 1);
        }
    };
    let model = tagger::train(&train_docs, &gaz, &args.config, progress);
    let out = args.models.join(MODEL_FILE);
    model.save(&out)?;
    let size = std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0);
    eprintln!("wrote {} ({:.1} MB)", out.display(), size as f64 / 1e6);
    Ok(out)
}

/// Trains in memory on a CoNLL file (used by the determinism test); returns the model bytes
/// as they would be saved.
pub fn train_to_bytes(train: &Path, models: &Path, config: &TrainConfig, max_docs: usize) -> anyhow::Result<Vec<u8>> {
    let train_docs = read_train_docs(train, max_docs)?;
    let gaz = super::load_lexicon(models)?;
    let model = tagger::train(&train_docs, &gaz, config, |_, _| {});
    let dir = std::env::temp_dir().join(format!("newsmill-train-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let p = dir.join(format!("m{}.model", xxhash_rust::xxh3::xxh3_64(train.to_string_lossy().as_bytes())));
    model.save(&p)?;
    let b = std::fs::read(&p)?;
    let _ = std::fs::remove_file(&p);
    Ok(b)
}
