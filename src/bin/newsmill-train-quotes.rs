//! Trains the quote tagger from PolNeAR-style data and offers the quote stage's own
//! evaluation and inspection commands (the main CLI wires `newsmill eval quotes` to the
//! same library function).

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use newsmill::quotes::{self, QuoteExtractor, QuotesConfig};

#[derive(Parser)]
#[command(about = "Train and inspect the newsmill quote tagger")]
struct Opts {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Train the tagger on a PolNeAR-style folder and write the model file.
    Train {
        /// Training folder (text/, attributions/).
        #[arg(long, default_value = "../shared/corpora/polnear/train")]
        corpus: PathBuf,
        /// Models folder (the word clusters the features read).
        #[arg(long, default_value = "models")]
        models: PathBuf,
        /// Output model file.
        #[arg(long, default_value = "models/quotes-tagger.bin")]
        out: PathBuf,
        /// Passes over the data.
        #[arg(long, default_value_t = 30)]
        epochs: usize,
    },
    /// Train on all but one part of a training folder and score on that part (how the
    /// tagger's features and settings are chosen without looking at dev).
    Holdout {
        /// Training folder (text/, attributions/).
        #[arg(long, default_value = "../shared/corpora/polnear/train")]
        corpus: PathBuf,
        /// Passes over the data.
        #[arg(long, default_value_t = 30)]
        epochs: usize,
        /// Models folder (the word clusters the features read).
        #[arg(long, default_value = "models")]
        models: PathBuf,
        /// The part held out (0-based).
        #[arg(long, default_value_t = 0)]
        fold: usize,
        /// Hold out every part in turn and print each part's figures, their mean and one
        /// table pooled over the whole folder (instead of `--fold`).
        #[arg(long, conflicts_with = "fold")]
        all: bool,
        /// Number of parts.
        #[arg(long, default_value_t = 5)]
        folds: usize,
    },
    /// Score the stage on a PolNeAR-style folder.
    Eval {
        /// Folder with text/ and attributions/.
        #[arg(long, default_value = "../shared/corpora/polnear/dev")]
        polnear: PathBuf,
        /// Models folder.
        #[arg(long, default_value = "models")]
        models: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// Rules only (no tagger).
        #[arg(long)]
        rules_only: bool,
    },
    /// Print gold and predicted spans that do not match exactly (role: source, cue, content).
    Diff {
        /// Folder with text/ and attributions/.
        #[arg(long, default_value = "../shared/corpora/polnear/dev")]
        polnear: PathBuf,
        /// Models folder.
        #[arg(long, default_value = "models")]
        models: PathBuf,
        /// Which role.
        #[arg(long, default_value = "content")]
        role: String,
        /// Only attributions with quote marks.
        #[arg(long)]
        quoted: bool,
        /// Rules only.
        #[arg(long)]
        rules_only: bool,
    },
    /// Print the quotes found in text files.
    Show {
        /// Text files.
        files: Vec<PathBuf>,
        /// Models folder.
        #[arg(long, default_value = "models")]
        models: PathBuf,
        /// Also print the sentences the quote stage splits each file into.
        #[arg(long)]
        sentences: bool,
    },
}

fn main() -> anyhow::Result<()> {
    let opts = Opts::parse();
    match opts.cmd {
        Cmd::Train { corpus, models, out, epochs } => {
            let summary = quotes::train::train(&corpus, &models, &out, epochs)?;
            println!("{summary}");
        }
        Cmd::Holdout { corpus, models, epochs, fold, folds, all } => {
            if all {
                print!("{}", quotes::train::holdout_all(&corpus, &models, epochs, folds)?);
            } else {
                print!("{}", quotes::train::holdout(&corpus, &models, epochs, fold, folds)?);
            }
        }
        Cmd::Eval { polnear, models, json, rules_only } => {
            if rules_only {
                let ex = QuoteExtractor::rules_only();
                let (t, n, s) = quotes::eval::run(&ex, &polnear)?;
                println!("{}", serde_json::to_string(&quotes::eval::report(&t, n, s))?);
            } else {
                print!("{}", quotes::eval_polnear(&models, &polnear, json)?);
                println!();
            }
        }
        Cmd::Diff { polnear, models, role, quoted, rules_only } => {
            let ex = if rules_only { QuoteExtractor::rules_only() } else { QuoteExtractor::load(&models, &QuotesConfig::default())? };
            for (t, a) in quotes::eval::articles(&polnear)? {
                let text = std::fs::read_to_string(&t)?;
                let chars: Vec<char> = text.chars().collect();
                let gold = quotes::eval::parse_ann(&std::fs::read_to_string(&a)?, &chars);
                let pred = quotes::eval::predict(&ex, &text);
                let pick = |x: &quotes::eval::CharAttr| match role.as_str() {
                    "source" => x.source.clone(),
                    "cue" => x.cue.clone(),
                    _ => x.content.clone(),
                };
                let show = |s: &Vec<(usize, usize)>| s.iter().map(|&(a, b)| chars[a..b].iter().collect::<String>()).collect::<Vec<_>>().join(" | ");
                let g: Vec<_> = gold.iter().filter(|x| !quoted || x.quoted).filter_map(pick).collect();
                let p: Vec<_> = pred.iter().filter(|x| !quoted || x.quoted).filter_map(pick).collect();
                for x in &g {
                    if !p.contains(x) {
                        // A boundary error: show what differs at each end.
                        let (gs, ge) = (x[0].0, x[x.len() - 1].1);
                        if let Some(y) = p.iter().find(|y| !g.contains(y) && y[0].0 < ge && gs < y[y.len() - 1].1) {
                            let (ps, pe) = (y[0].0, y[y.len() - 1].1);
                            let d = |a: usize, b: usize| -> String { chars[a.min(b)..a.max(b)].iter().collect::<String>().replace('\n', "/") };
                            let sd = if ps < gs { format!("+[{}]", d(ps, gs)) } else if ps > gs { format!("-[{}]", d(gs, ps)) } else { "=".into() };
                            let ed = if pe > ge { format!("+[{}]", d(ge, pe)) } else if pe < ge { format!("-[{}]", d(pe, ge)) } else { "=".into() };
                            let segs = if x.len() != y.len() { format!(" segs {}/{}", x.len(), y.len()) } else { String::new() };
                            println!("BOUND start {} end {}{}", sd.chars().take(60).collect::<String>(), ed.chars().take(60).collect::<String>(), segs);
                        }
                        println!("MISS {}", show(x).replace('\n', " / "));
                    }
                }
                for x in &p {
                    if !g.contains(x) {
                        println!("FP   {}", show(x).replace('\n', " / "));
                    }
                }
            }
        }
        Cmd::Show { files, models, sentences } => {
            let ex = QuoteExtractor::load(&models, &QuotesConfig::default())?;
            for f in files {
                let text = std::fs::read_to_string(&f).with_context(|| format!("reading {}", f.display()))?;
                println!("== {}", f.display());
                if sentences {
                    let d = quotes::rules::Doc::new(&text);
                    for &(a, b) in &d.sents {
                        println!("  SENT {:?}", &text[d.toks[a].start as usize..d.toks[b - 1].end as usize]);
                    }
                }
                for q in ex.extract(&text, &[]) {
                    let sp = q.speaker.map(|s| s.slice(&text).to_string()).unwrap_or_default();
                    let cue = q.cue.map(|s| s.slice(&text).to_string()).unwrap_or_default();
                    let c = q.content.slice(&text);
                    let c: String = c.chars().take(90).collect();
                    println!("{:<8} [{}] <{}> {:?}", q.kind.as_str(), sp, cue, c);
                }
            }
        }
    }
    Ok(())
}
