//! `newsmill eval dedup`: reads documents with gold cluster labels (JSONL or CSV), runs one
//! tier on their texts and scores the clusters with pairwise precision / recall / F1 and the
//! adjusted Rand index, so any user can measure the tool on their own annotated data.
//!
//! The story tier is scored as a pipeline with every stage runs it: on the canonical entities
//! and the quotes that the entity and quote stages find in the texts ([`extract`]), unless
//! asked to score it on the texts alone.

use anyhow::{bail, Context, Result};
use serde::Serialize;
use std::collections::HashMap;
use std::path::Path;

use super::{EvalLevel, OverlapConfig};

/// One labelled document.
#[derive(Debug, Clone)]
pub struct Labelled {
    /// Its id (the id field, or the record number).
    pub id: String,
    /// Its text.
    pub text: String,
    /// Its gold cluster.
    pub gold: String,
}

/// Pairwise and partition scores of a clustering against gold clusters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Scores {
    /// Adjusted Rand index.
    pub ari: f64,
    /// Share of predicted same-cluster pairs that are gold pairs.
    pub pair_precision: f64,
    /// Share of gold same-cluster pairs that are predicted.
    pub pair_recall: f64,
    /// Harmonic mean of the two.
    pub pair_f1: f64,
    /// Number of documents scored.
    pub documents: usize,
    /// Wall time of the clustering, seconds.
    pub seconds: f64,
}

fn c2(n: u64) -> f64 {
    (n as f64) * (n as f64 - 1.0) / 2.0
}

/// Scores `pred` against `gold` (cluster labels, one per document; any hashable labels).
pub fn score<P: std::hash::Hash + Eq, G: std::hash::Hash + Eq>(pred: &[P], gold: &[G]) -> Scores {
    assert_eq!(pred.len(), gold.len());
    let mut cells: HashMap<(&P, &G), u64> = HashMap::new();
    let mut rows: HashMap<&P, u64> = HashMap::new();
    let mut cols: HashMap<&G, u64> = HashMap::new();
    for (p, g) in pred.iter().zip(gold) {
        *cells.entry((p, g)).or_default() += 1;
        *rows.entry(p).or_default() += 1;
        *cols.entry(g).or_default() += 1;
    }
    let index: f64 = cells.values().map(|&v| c2(v)).sum();
    let a: f64 = rows.values().map(|&v| c2(v)).sum();
    let b: f64 = cols.values().map(|&v| c2(v)).sum();
    let total = c2(pred.len() as u64);
    let expected = if total > 0.0 { a * b / total } else { 0.0 };
    let max = (a + b) / 2.0;
    let ari = if (max - expected).abs() < 1e-12 {
        1.0
    } else {
        (index - expected) / (max - expected)
    };
    let precision = if a > 0.0 { index / a } else { 1.0 };
    let recall = if b > 0.0 { index / b } else { 1.0 };
    let f1 = if precision + recall > 0.0 {
        2.0 * precision * recall / (precision + recall)
    } else {
        0.0
    };
    Scores {
        ari,
        pair_precision: precision,
        pair_recall: recall,
        pair_f1: f1,
        documents: pred.len(),
        seconds: 0.0,
    }
}

fn field_str(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Null => None,
        other => Some(other.to_string()),
    }
}

/// Reads labelled documents from JSONL (one object per line) or CSV (with a header row);
/// CSV when the file name ends in `.csv` or `.tsv` (tab-separated), JSONL otherwise.
pub fn read_labelled(
    path: &Path,
    text_field: &str,
    gold_field: &str,
    id_field: Option<&str>,
) -> Result<Vec<Labelled>> {
    let name = path.to_string_lossy().to_lowercase();
    let mut out = Vec::new();
    if name.ends_with(".csv") || name.ends_with(".tsv") {
        let mut rdr = csv::ReaderBuilder::new()
            .delimiter(if name.ends_with(".tsv") { b'\t' } else { b',' })
            .flexible(true)
            .from_path(path)
            .with_context(|| format!("opening {}", path.display()))?;
        let headers = rdr.headers()?.clone();
        let col = |f: &str| headers.iter().position(|h| h == f);
        let Some(ti) = col(text_field) else {
            bail!(
                "{}: no column {text_field:?} (columns: {})",
                path.display(),
                headers.iter().collect::<Vec<_>>().join(", ")
            )
        };
        let Some(gi) = col(gold_field) else {
            bail!("{}: no column {gold_field:?}", path.display())
        };
        let ii = match id_field {
            Some(f) => {
                Some(col(f).with_context(|| format!("{}: no column {f:?}", path.display()))?)
            }
            None => None,
        };
        for (n, rec) in rdr.records().enumerate() {
            let rec = rec.with_context(|| format!("{}: record {}", path.display(), n + 1))?;
            let text = rec.get(ti).unwrap_or("").to_string();
            let gold = rec.get(gi).unwrap_or("").to_string();
            let id = ii
                .and_then(|i| rec.get(i))
                .map(str::to_string)
                .unwrap_or_else(|| (n + 1).to_string());
            out.push(Labelled { id, text, gold });
        }
    } else {
        let data =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        for (n, line) in data.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let v: serde_json::Value = serde_json::from_str(line)
                .with_context(|| format!("{}: line {}: not JSON", path.display(), n + 1))?;
            let text = v.get(text_field).and_then(field_str).with_context(|| {
                format!(
                    "{}: line {}: no field {text_field:?}",
                    path.display(),
                    n + 1
                )
            })?;
            let gold = v.get(gold_field).and_then(field_str).with_context(|| {
                format!(
                    "{}: line {}: no field {gold_field:?}",
                    path.display(),
                    n + 1
                )
            })?;
            let id = match id_field {
                Some(f) => v.get(f).and_then(field_str).with_context(|| {
                    format!("{}: line {}: no field {f:?}", path.display(), n + 1)
                })?,
                None => v
                    .get("doc_id")
                    .and_then(field_str)
                    .unwrap_or_else(|| (n + 1).to_string()),
            };
            out.push(Labelled { id, text, gold });
        }
    }
    Ok(out)
}

/// What the entity and quote stages give the story tier, found in the labelled texts the way
/// a pipeline run finds them.
#[derive(Debug, Clone, Default)]
pub struct Extracted {
    /// Per document, the canonical entity id of each of its linked name mentions.
    pub entity_ids: Vec<Vec<String>>,
    /// The direct and partial quotes: (document index, quoted text, speaker's entity id).
    pub quotes: Vec<(usize, String, Option<String>)>,
}

/// Runs the entity stage (recognition and linking across the documents) and the quote stage
/// with the model files in `models` and their default settings, as `newsmill run` does.
pub fn extract(docs: &[Labelled], models: &Path) -> Result<Extracted> {
    use rayon::prelude::*;
    let rec = crate::entities::Recognizer::load(models).with_context(|| {
        format!("loading the entity model from {} (or score the texts alone with --text-only)", models.display())
    })?;
    let qx = crate::quotes::QuoteExtractor::load(models, &crate::quotes::QuotesConfig::default())?;
    let found: Vec<_> = docs
        .par_iter()
        .map(|d| {
            let mentions = rec.extract(&d.text);
            let quotes = qx.extract(&d.text, &mentions);
            (mentions, quotes)
        })
        .collect();
    let inputs: Vec<(&str, &[crate::record::Mention])> =
        docs.iter().zip(&found).map(|(d, (m, _))| (d.text.as_str(), m.as_slice())).collect();
    let linked = crate::entities::link(&inputs);
    let mut out = Extracted::default();
    for (i, ((mentions, quotes), ids)) in found.iter().zip(&linked.mention_entity).enumerate() {
        out.entity_ids.push(
            mentions
                .iter()
                .zip(ids)
                .filter(|(m, _)| m.label.is_name())
                .filter_map(|(_, e)| e.clone())
                .collect(),
        );
        for q in quotes {
            if q.kind.is_verbatim() {
                let speaker = q.speaker_mention.and_then(|m| ids.get(m).cloned().flatten());
                out.quotes.push((i, q.content.slice(&docs[i].text).to_string(), speaker));
            }
        }
    }
    Ok(out)
}

/// Runs `level` on the documents with `config` (the story tier with what [`extract`] found,
/// when given) and scores it; also returns the predicted cluster of every document.
pub fn evaluate(
    docs: &[Labelled],
    level: EvalLevel,
    config: &OverlapConfig,
    extracted: Option<&Extracted>,
) -> (Scores, Vec<String>) {
    let start = std::time::Instant::now();
    let pred = predict(docs, level, config, extracted);
    let seconds = start.elapsed().as_secs_f64();
    let gold: Vec<&str> = docs.iter().map(|d| d.gold.as_str()).collect();
    let mut s = score(&pred, &gold);
    s.seconds = seconds;
    (s, pred)
}

/// Writes every document's id, gold cluster, predicted cluster and text as CSV, for error
/// analysis.
pub fn write_predictions(path: &Path, docs: &[Labelled], pred: &[String]) -> Result<()> {
    let mut w = csv::Writer::from_path(path).with_context(|| format!("creating {}", path.display()))?;
    w.write_record(["id", "gold", "predicted", "text"])?;
    for (d, p) in docs.iter().zip(pred) {
        w.write_record([d.id.as_str(), d.gold.as_str(), p.as_str(), d.text.as_str()])?;
    }
    w.flush().with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// The predicted cluster id of every document at `level` (the story tier with the entities
/// and quotes in `extracted`, when given).
pub fn predict(docs: &[Labelled], level: EvalLevel, config: &OverlapConfig, extracted: Option<&Extracted>) -> Vec<String> {
    let odocs: Vec<super::OverlapDoc> = docs
        .iter()
        .enumerate()
        .map(|(i, d)| super::OverlapDoc {
            doc_id: &d.id,
            text: &d.text,
            title: None,
            published_at: None,
            entity_ids: extracted
                .and_then(|x| x.entity_ids.get(i))
                .map(|ids| ids.iter().map(String::as_str).collect())
                .unwrap_or_default(),
        })
        .collect();
    let quotes: Vec<super::OverlapQuote> = extracted
        .map(|x| {
            x.quotes
                .iter()
                .filter(|q| q.0 < docs.len())
                .map(|(doc, text, speaker)| super::OverlapQuote { doc: *doc, text, speaker_entity_id: speaker.as_deref() })
                .collect()
        })
        .unwrap_or_default();
    match level {
        EvalLevel::Copies => {
            let sigs = super::copies::sketch_all(
                odocs
                    .iter()
                    .map(|d| (d.doc_id, d.text, d.published_at))
                    .collect::<Vec<_>>(),
            );
            super::copies::cluster(&sigs, &config.copies)
                .into_iter()
                .map(|a| a.canonical.to_string())
                .collect()
        }
        EvalLevel::Stories => {
            let out = super::run(&odocs, &quotes, config);
            out.duplicates.into_iter().map(|r| r.story_id).collect()
        }
    }
}

/// The report `newsmill eval dedup` prints.
pub fn report(input: &Path, level: EvalLevel, extracted: bool, s: &Scores, json: bool) -> String {
    if json {
        serde_json::json!({
            "ari": s.ari,
            "pair_precision": s.pair_precision,
            "pair_recall": s.pair_recall,
            "pair_f1": s.pair_f1,
            "documents": s.documents,
            "seconds": s.seconds,
        })
        .to_string()
    } else {
        format!(
            "dedup eval ({}) on {}\n  documents       {}\n  pair precision  {:.4}\n  pair recall     {:.4}\n  pair F1         {:.4}\n  ARI             {:.4}\n  seconds         {:.3}",
            match (level, extracted) {
                (EvalLevel::Copies, _) => "copies",
                (EvalLevel::Stories, true) => "stories, with the entities and quotes found in the texts",
                (EvalLevel::Stories, false) => "stories, texts alone",
            },
            input.display(),
            s.documents,
            s.pair_precision,
            s.pair_recall,
            s.pair_f1,
            s.ari,
            s.seconds
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perfect_and_trivial_clusterings() {
        let gold = [1, 1, 2, 2, 3];
        let s = score(&["a", "a", "b", "b", "c"], &gold);
        assert_eq!(
            (s.ari, s.pair_precision, s.pair_recall, s.pair_f1),
            (1.0, 1.0, 1.0, 1.0)
        );
        let all_apart = score(&[1, 2, 3, 4, 5], &gold);
        assert_eq!(all_apart.pair_recall, 0.0);
        assert!(all_apart.ari.abs() < 1e-9);
    }

    #[test]
    fn ari_matches_a_known_value() {
        // sklearn.metrics.adjusted_rand_score([0,0,1,1],[0,0,1,2]) = 0.5714285714285715
        let s = score(&[0, 0, 1, 2], &[0, 0, 1, 1]);
        assert!((s.ari - 0.5714285714285715).abs() < 1e-12, "{}", s.ari);
        assert_eq!(s.pair_precision, 1.0);
        assert_eq!(s.pair_recall, 0.5);
    }

    #[test]
    fn reads_jsonl_and_csv() {
        let dir = tempfile::tempdir().unwrap();
        let j = dir.path().join("x.jsonl");
        std::fs::write(
            &j,
            "{\"doc_id\":\"a\",\"text\":\"t1\",\"g\":3}\n\n{\"doc_id\":\"b\",\"text\":\"t2\",\"g\":\"x\"}\n",
        )
        .unwrap();
        let d = read_labelled(&j, "text", "g", None).unwrap();
        assert_eq!(
            (d[0].id.as_str(), d[0].gold.as_str(), d[1].gold.as_str()),
            ("a", "3", "x")
        );
        let c = dir.path().join("x.csv");
        std::fs::write(&c, "ID,TITLE,STORY\n1,\"Hello, world\",s1\n2,Bye,s2\n").unwrap();
        let d = read_labelled(&c, "TITLE", "STORY", Some("ID")).unwrap();
        assert_eq!(
            (d[0].text.as_str(), d[1].id.as_str()),
            ("Hello, world", "2")
        );
        assert!(read_labelled(&c, "BODY", "STORY", None).is_err());
    }
}
