//! Integration tests of the quotes stage: the golden seed reports (every direct quote with
//! the right speaker, scare quotes not taken for speech) and a floor on PolNeAR dev.

use std::path::PathBuf;

use newsmill::quotes::{self, QuoteExtractor, QuotesConfig};
use newsmill::record::{EntityLabel, Method, Mention, QuoteKind, Span};

use crate::util;

fn extractor() -> QuoteExtractor {
    QuoteExtractor::load(&util::repo_root().join("models"), &QuotesConfig::default()).expect("quote models load")
}

fn seeds() -> Option<Vec<(String, String)>> {
    let dir = util::repo_root().join("..").join("shared").join("seeds");
    let Ok(rd) = std::fs::read_dir(&dir) else {
        eprintln!("skipping: seeds not found at {}", dir.display());
        return None;
    };
    let mut paths: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.extension().is_some_and(|x| x == "txt")).collect();
    paths.sort();
    Some(paths.into_iter().map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read_to_string(&p).unwrap())).collect())
}

/// PERSON mentions of the people of the seed reports, as the entity stage would give them.
fn person_mentions(text: &str) -> Vec<Mention> {
    const NAMES: &[&str] = &[
        "Donald Trump", "Trump", "Volodymyr Zelensky", "Volodymyr Zelenskyy", "Zelenskyy", "Zelensky", "Karoline Leavitt", "Leavitt",
        "Jens Stoltenberg", "Steve Witkoff", "Vladimir Putin", "Putin", "Keir Starmer", "Emmanuel Macron", "Giorgia Meloni",
        "Friedrich Merz", "Alexander Stubb", "Mark Rutte", "Ursula von der Leyen", "Alexus Grynkewich",
    ];
    let mut v: Vec<Mention> = Vec::new();
    for n in NAMES {
        for (i, _) in text.match_indices(n) {
            let span = Span::new(i, i + n.len());
            if v.iter().any(|m| m.span.start < span.end && span.start < m.span.end) {
                continue;
            }
            v.push(Mention { span, label: EntityLabel::Person, method: Method::Gazetteer, score: 1.0, title: None });
        }
    }
    v.sort_by_key(|m| m.span.start);
    v
}

fn surname(text: &str, m: &Mention) -> String {
    m.span.slice(text).split_whitespace().last().unwrap_or("").trim_end_matches('y').to_string()
}

#[test]
fn seeds_golden() {
    let Some(docs) = seeds() else { return };
    let ex = extractor();
    // (file prefix, start of the quote, expected speaker surname or group phrase)
    let expected: &[(&str, &str, &str)] = &[
        ("000", "Well, we‘re going to work with Ukraine", "Trump"),
        ("000", "This is a very long term", "Trump"),
        ("000", "We’ll let you know that maybe later today. We‘re meeting", "Trump"),
        ("000", "But we‘re going to help them out also", "Trump"),
        ("002", "You have my assurance — and I’m president", "Trump"),
        ("002", "When it comes to security", "Trump"),
        ("002", "We’re willing to help them with things", "Trump"),
        ("002", "Look, that was something the president mentioned", "Leavitt"),
        ("002", "It is an option and a possibility", "Leavitt"),
        ("002", "We are not part of this conflict", "Stoltenberg"),
        ("002", "We understand the desperation", "Stoltenberg"),
        ("002", "We’ll let you know that maybe later today,", "Trump"),
        ("002", "We’re meeting with seven great leaders", "Trump"),
        ("002", "And I told him that we’re going to set up a meeting", "Trump"),
        ("003", "You have my assurance, and I’m president.", "Trump"),
        ("004", "We are clear that Ukraine must have ironclad security guarantees", "they"),
        ("004", "It was determined by all that the best way", "Trump"),
    ];
    let mut failures = Vec::new();
    for (prefix, start, who) in expected {
        let (_, text) = docs.iter().find(|(n, _)| n.starts_with(prefix)).expect("seed file");
        let mentions = person_mentions(text);
        let qs = ex.extract(text, &mentions);
        let Some(q) = qs.iter().find(|q| q.content.slice(text).contains(start) && matches!(q.kind, QuoteKind::Direct | QuoteKind::Partial)) else {
            failures.push(format!("{prefix}: quote not found: {start}"));
            continue;
        };
        let speaker = q.speaker.map(|s| s.slice(text).to_string()).unwrap_or_default();
        let got = match q.speaker_mention {
            Some(m) => surname(text, &mentions[m]),
            None => speaker.clone(),
        };
        if !got.contains(who.trim_end_matches('y')) {
            failures.push(format!("{prefix}: {start}: speaker {speaker:?} resolved to {got:?}, expected {who}"));
        }
    }
    // Partial quotes attributed.
    let partials: &[(&str, &str, &str)] = &[
        ("000", "“involved”", "Trump"),
        ("000", "“Article 5-like protection,”", "Witkoff"),
        ("003", "“front-load”", "Trump"),
        ("004", "“positive”", "Putin"),
    ];
    for (prefix, frag, who) in partials {
        let (_, text) = docs.iter().find(|(n, _)| n.starts_with(prefix)).expect("seed file");
        let mentions = person_mentions(text);
        let qs = ex.extract(text, &mentions);
        let at = text.find(frag).expect("fragment in seed") + frag.len() / 2;
        let Some(q) = qs.iter().find(|q| q.content.start <= at && at < q.content.end && q.kind != QuoteKind::Term) else {
            failures.push(format!("{prefix}: partial quote not found: {frag}"));
            continue;
        };
        let got = q.speaker_mention.map(|m| surname(text, &mentions[m])).unwrap_or_default();
        if !got.contains(who) {
            failures.push(format!("{prefix}: {frag}: resolved to {got:?}, expected {who}"));
        }
    }
    // Scare quotes are not speech.
    let (_, text) = docs.iter().find(|(n, _)| n.starts_with("002")).expect("seed 002");
    let qs = ex.extract(text, &[]);
    for term in ["no-fly zone", "air policing", "senior government source"] {
        if qs.iter().any(|q| q.content.slice(text) == term && q.kind != QuoteKind::Term) {
            failures.push(format!("scare quote reported as speech: {term}"));
        }
        if !qs.iter().any(|q| q.content.slice(text) == term && q.kind == QuoteKind::Term) {
            failures.push(format!("scare quote not kept as a term: {term}"));
        }
    }
    assert!(failures.is_empty(), "seed failures:\n{}", failures.join("\n"));
}

#[test]
fn polnear_dev_floor() {
    let Some(dir) = util::corpus("polnear") else { return };
    let dev = dir.join("dev");
    let ex = extractor();
    let (t, n, secs) = quotes::eval::run(&ex, &dev).expect("evaluation runs");
    let r = quotes::eval::report(&t, n, secs);
    eprintln!("polnear dev exact F1: source {:.3} cue {:.3} content {:.3}; quoted content {:.3}", r.exact.source.f1, r.exact.cue.f1, r.exact.content.f1, r.quoted_only.exact.content.f1);
    assert_eq!(n, 84);
    // Just under the shipped model's figures. Dev's quoted figures rest on about 620
    // attributions: retraining on the same data after a change that touches a few of them moves
    // quoted content by up to 0.006 either way, so a change is chosen on the held-out fifths of
    // PolNeAR train (`make quotes-holdout`), about 5,300 quoted attributions, not on these.
    assert!(r.exact.source.f1 >= 0.710, "source {:.3}", r.exact.source.f1);
    assert!(r.exact.cue.f1 >= 0.683, "cue {:.3}", r.exact.cue.f1);
    assert!(r.exact.content.f1 >= 0.546, "content {:.3}", r.exact.content.f1);
    assert!(r.quoted_only.exact.content.f1 >= 0.752, "quoted content {:.3}", r.quoted_only.exact.content.f1);
    assert!(r.quoted_only.exact.source.f1 >= 0.826, "quoted source {:.3}", r.quoted_only.exact.source.f1);
}

#[test]
fn eval_json_shape() {
    let Some(dir) = util::corpus("polnear") else { return };
    let out = quotes::eval_polnear(&util::repo_root().join("models"), &dir.join("dev"), true).expect("eval");
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    for mode in ["exact", "overlap"] {
        for role in ["source", "cue", "content"] {
            for k in ["precision", "recall", "f1"] {
                assert!(v[mode][role][k].is_number(), "{mode}.{role}.{k}");
                assert!(v["quoted_only"][mode][role][k].is_number());
            }
        }
    }
    assert_eq!(v["articles"], 84);
    assert!(v["seconds"].is_number());
}

#[test]
fn missing_model_falls_back_to_rules() {
    let tmp = tempfile::tempdir().unwrap();
    let ex = QuoteExtractor::load(tmp.path(), &QuotesConfig::default()).expect("loads without a model");
    let text = "“We will win,” Smith said.";
    assert_eq!(ex.extract(text, &[]).len(), 1);
}

/// Passes over the training data of `make quotes-model` (`QUOTES_EPOCHS` in mk/quotes.mk).
const SHIPPED_EPOCHS: usize = 30;

#[test]
fn shipped_tagger_is_what_training_gives() {
    // A change to the rules or the features changes what the tagger is trained on; the
    // shipped model must then be retrained (`make quotes-model`), or it no longer comes from
    // this code.
    let Some(dir) = util::corpus("polnear") else { return };
    let out = std::env::temp_dir().join(format!("newsmill-quotes-tagger-{}.bin", std::process::id()));
    quotes::train::train(&dir.join("train"), &util::repo_root().join("models"), &out, SHIPPED_EPOCHS).expect("training runs");
    let trained = std::fs::read(&out).expect("trained model written");
    let _ = std::fs::remove_file(&out);
    let shipped = std::fs::read(util::repo_root().join("models").join("quotes-tagger.bin")).expect("shipped model");
    assert!(trained == shipped, "models/quotes-tagger.bin is not what `make quotes-model` trains from this code: run it and commit the model");
}
