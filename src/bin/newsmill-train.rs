//! `newsmill-train`: trains the entity tagger (what `make model` runs).
//!
//! Usage: `newsmill-train --train FILE [--dev FILE] [--models DIR] [--epochs N] [--bits B] [--seed S]`,
//! or `newsmill-train --eval FILE [--json]` to score the model in `--models`.

use std::path::PathBuf;

use clap::Parser;
use newsmill::entities::tagger::TrainConfig;
use newsmill::entities::train::{train, TrainArgs};

#[derive(Parser)]
#[command(about = "Train the newsmill entity tagger from a CoNLL file")]
struct Opts {
    /// CoNLL training file.
    #[arg(long, required_unless_present_any = ["eval", "show"])]
    train: Option<PathBuf>,
    /// Instead of training: score the shipped model on this CoNLL file (as `newsmill eval ner`).
    #[arg(long)]
    eval: Option<PathBuf>,
    /// With --eval: print JSON.
    #[arg(long)]
    json: bool,
    /// Instead of training: print the mentions and linked entities of these text files.
    #[arg(long, num_args = 1..)]
    show: Vec<PathBuf>,
    /// With --eval: document-level corrections to turn off (majority, propagate, surnames).
    #[arg(long, value_delimiter = ',')]
    no_post: Vec<String>,
    /// CoNLL dev file scored after each epoch (progress only).
    #[arg(long)]
    dev: Option<PathBuf>,
    /// Models folder: gazetteers are read from it, ner.model is written to it.
    #[arg(long, default_value = "models")]
    models: PathBuf,
    /// Passes over the training data.
    #[arg(long, default_value_t = TrainConfig::default().epochs)]
    epochs: usize,
    /// log2 of the number of weight-table rows.
    #[arg(long, default_value_t = TrainConfig::default().bits)]
    bits: u32,
    /// Shuffle seed.
    #[arg(long, default_value_t = TrainConfig::default().seed)]
    seed: u64,
    /// L2 regularization strength (CRFsuite's c2).
    #[arg(long, default_value_t = TrainConfig::default().c2)]
    c2: f64,
    /// Initial SGD learning rate.
    #[arg(long, default_value_t = TrainConfig::default().eta0)]
    eta0: f64,
}

fn main() {
    let o = Opts::parse();
    if !o.show.is_empty() {
        if let Err(e) = show(&o.models, &o.show) {
            eprintln!("newsmill-train: {e:#}");
            std::process::exit(1);
        }
        return;
    }
    if let Some(conll) = &o.eval {
        let run = || -> anyhow::Result<String> {
            let mut rec = newsmill::entities::Recognizer::load(&o.models)?;
            for p in &o.no_post {
                match p.as_str() {
                    "majority" => rec.post.majority = false,
                    "propagate" => rec.post.propagate = false,
                    "surnames" => rec.post.surnames = false,
                    other => anyhow::bail!("unknown correction {other}"),
                }
            }
            let s = newsmill::entities::eval_conll_score(&rec, conll)?;
            Ok(if o.json { s.to_json() } else { s.to_text() })
        };
        match run() {
            Ok(r) => print!("{r}"),
            Err(e) => {
                eprintln!("newsmill-train: {e:#}");
                std::process::exit(1);
            }
        }
        return;
    }
    let args = TrainArgs { train: o.train.unwrap_or_default(), dev: o.dev, models: o.models, config: TrainConfig { epochs: o.epochs, bits: o.bits, seed: o.seed, c2: o.c2, eta0: o.eta0 } };
    if let Err(e) = train(&args) {
        eprintln!("newsmill-train: {e:#}");
        std::process::exit(1);
    }
}

fn show(models: &std::path::Path, files: &[PathBuf]) -> anyhow::Result<()> {
    let rec = newsmill::entities::Recognizer::load(models)?;
    let texts: Vec<String> = files.iter().map(std::fs::read_to_string).collect::<Result<_, _>>()?;
    let mentions: Vec<Vec<newsmill::record::Mention>> = texts.iter().map(|t| rec.extract(t)).collect();
    let docs: Vec<(&str, &[newsmill::record::Mention])> = texts.iter().zip(&mentions).map(|(t, m)| (t.as_str(), m.as_slice())).collect();
    let linked = newsmill::entities::link(&docs);
    for (d, (t, ms)) in docs.iter().enumerate() {
        println!("== {}", files[d].display());
        for (k, m) in ms.iter().enumerate() {
            let id = linked.mention_entity[d][k].as_deref().unwrap_or("-");
            let title = m.title.as_deref().map(|t| format!(" [title: {t}]")).unwrap_or_default();
            println!("{:>6} {:<9} {:<9} {:.2} {} {}{}", m.span.start, m.label.as_str(), m.method.as_str(), m.score, id, &t[m.span.start..m.span.end], title);
        }
    }
    println!("== entities");
    for e in &linked.entities {
        println!("{} {:<8} {:<28} m={} d={} {:?}", e.entity_id, e.label.as_str(), e.name, e.n_mentions, e.n_documents, e.aliases);
    }
    Ok(())
}
