//! Unit tests of the quote stage: one short text per hard case of the quote issue, plus a
//! property test that arbitrary text never panics and every span is a valid slice.

use proptest::prelude::*;

use super::*;
use crate::record::{EntityLabel, Method, Mention};

fn rules() -> QuoteExtractor {
    QuoteExtractor::rules_only()
}

struct Q {
    kind: QuoteKind,
    content: String,
    speaker: String,
    cue: String,
    mention: Option<usize>,
}

/// The extractor with the shipped tagger model (None when `models/` lacks it).
fn shipped() -> Option<&'static QuoteExtractor> {
    static EX: std::sync::OnceLock<Option<QuoteExtractor>> = std::sync::OnceLock::new();
    EX.get_or_init(|| {
        let models = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models");
        QuoteExtractor::load(&models, &QuotesConfig::default()).ok()
    })
    .as_ref()
}

fn run(text: &str, mentions: &[Mention]) -> Vec<Q> {
    rules()
        .extract(text, mentions)
        .into_iter()
        .map(|q| Q {
            kind: q.kind,
            content: q.content.slice(text).to_string(),
            speaker: q.speaker.map(|s| s.slice(text).to_string()).unwrap_or_default(),
            cue: q.cue.map(|s| s.slice(text).to_string()).unwrap_or_default(),
            mention: q.speaker_mention,
        })
        .collect()
}

fn speech(text: &str) -> Vec<Q> {
    run(text, &[]).into_iter().filter(|q| q.kind == QuoteKind::Direct || q.kind == QuoteKind::Partial).collect()
}

/// PERSON mentions for every occurrence of each name.
fn persons(text: &str, names: &[&str]) -> Vec<Mention> {
    let mut v = Vec::new();
    for n in names {
        for (i, _) in text.match_indices(n) {
            v.push(Mention { span: Span::new(i, i + n.len()), label: EntityLabel::Person, method: Method::Rule, score: 1.0, title: None });
        }
    }
    v.sort_by_key(|m| m.span.start);
    v.dedup_by_key(|m| m.span.start);
    v
}

const STRAIGHT: &str = "\"We will win,\" Smith said.";
const CURLY: &str = "“We will win,” Smith said.";
const SINGLE: &str = "‘We will win,’ Smith said.";
const SINGLE_ASCII: &str = "'We will win,' Smith said.";
const GUILLEMETS: &str = "«We will win,» Smith said.";
const LOW_HIGH: &str = "„We will win,“ Smith said.";

#[test]
fn every_mark_style() {
    for t in [STRAIGHT, CURLY, SINGLE, SINGLE_ASCII, GUILLEMETS, LOW_HIGH] {
        let q = speech(t);
        assert_eq!(q.len(), 1, "{t}");
        assert_eq!(q[0].content, "We will win,", "{t}");
        assert_eq!(q[0].speaker, "Smith", "{t}");
        assert_eq!(q[0].cue, "said", "{t}");
        assert_eq!(q[0].kind, QuoteKind::Direct, "{t}");
    }
}

const NESTED: &str = "“He told me ‘never again’ and left,” Jones said.";

#[test]
fn nested_quotes_of_the_other_kind() {
    let q = speech(NESTED);
    assert_eq!(q.len(), 1);
    assert_eq!(q[0].content, "He told me ‘never again’ and left,");
}

const MISUSED_APOSTROPHE: &str = "“Well, we‘re going to work with Ukraine. We‘re going to help,” Trump said. Trump‘s aides agreed.";

#[test]
fn apostrophe_misused_as_left_quote() {
    let q = speech(MISUSED_APOSTROPHE);
    assert_eq!(q.len(), 1);
    assert_eq!(q[0].content, "Well, we‘re going to work with Ukraine. We‘re going to help,");
    assert_eq!(q[0].speaker, "Trump");
}

const MULTI_PARAGRAPH: &str = "“The first paragraph of the statement goes on.\n“The second paragraph ends it,” the senator said.";

#[test]
fn multi_paragraph_quote_is_one() {
    let q = speech(MULTI_PARAGRAPH);
    assert_eq!(q.len(), 1);
    assert!(q[0].content.starts_with("The first paragraph") && q[0].content.ends_with("ends it,"));
    assert_eq!(q[0].speaker, "the senator");
}

const UNBALANCED: &str = "“This quote never closes.\nThe reporter writes on. Nothing here is quoted. Smith left.\n“Done,” Smith said.";

#[test]
fn unbalanced_mark_recovers_at_paragraph() {
    let q = run(UNBALANCED, &[]);
    let first = q.iter().find(|q| q.content.starts_with("This quote")).expect("recovered quote");
    assert_eq!(first.content, "This quote never closes.");
    assert!(q.iter().all(|q| !q.content.contains("The reporter")));
    assert!(q.iter().any(|q| q.content == "Done," && q.speaker == "Smith"));
}

const STRAY_CLOSER: &str = "The White House: U.S. troops won’t be on the ground. But we can help” https://t.co/x";

#[test]
fn opening_mark_missing_in_post() {
    let q = speech(STRAY_CLOSER);
    assert_eq!(q.len(), 1);
    assert_eq!(q[0].content, "U.S. troops won’t be on the ground. But we can help");
    assert_eq!(q[0].speaker, "The White House");
}

const PARTIAL: &str = "He said the U.S. would be “involved” in the security guarantees.";

#[test]
fn partial_quote_is_attributed() {
    let q = speech(PARTIAL);
    assert_eq!(q.len(), 1);
    assert_eq!(q[0].kind, QuoteKind::Partial);
    assert_eq!(q[0].speaker, "He");
    assert_eq!(q[0].cue, "said");
}

const SCARE: &str = "Early in the war, Ukraine requested that NATO impose a “no-fly zone” over its airspace. The Times cited a “senior government source” on the plan.";

#[test]
fn scare_quotes_are_terms() {
    let q = run(SCARE, &[]);
    let terms: Vec<&str> = q.iter().filter(|q| q.kind == QuoteKind::Term).map(|q| q.content.as_str()).collect();
    assert_eq!(terms, vec!["no-fly zone", "senior government source"]);
    assert!(q.iter().filter(|q| q.kind == QuoteKind::Term).all(|q| q.speaker.is_empty()));
}

const SPLIT: &str = "“First part,” Trump said. “Second part of the statement.”";

#[test]
fn split_quote_and_continuation() {
    let q = speech(SPLIT);
    assert_eq!(q.len(), 2);
    assert_eq!(q[0].speaker, "Trump");
    assert_eq!(q[1].speaker, "Trump");
}

const INTERVENING: &str = "“First part,” Trump said. The crowd cheered loudly for a while. “Second part of something else.”";

#[test]
fn no_continuation_across_narration() {
    let q = speech(INTERVENING);
    assert_eq!(q.len(), 2);
    assert_eq!(q[1].speaker, "");
}

const INVERTED: &str = "“We are ready,” said White House Press Secretary Karoline Leavitt.";
const COLON: &str = "Leavitt said: “We are ready to help with coordination.”";
const DASH: &str = "“We are not part of this conflict.” — Jens Stoltenberg";
const LEAD_IN_PARTICIPLE: &str = "President Donald Trump on Tuesday ruled it out, telling Fox News, “You have my assurance, and I’m president.”";

#[test]
fn speaker_positions() {
    let q = speech(INVERTED);
    assert_eq!((q[0].speaker.as_str(), q[0].cue.as_str()), ("White House Press Secretary Karoline Leavitt", "said"));
    let q = speech(COLON);
    assert_eq!((q[0].speaker.as_str(), q[0].cue.as_str(), q[0].kind), ("Leavitt", "said", QuoteKind::Direct));
    let q = speech(DASH);
    assert_eq!(q[0].speaker, "Jens Stoltenberg");
    let q = speech(LEAD_IN_PARTICIPLE);
    assert_eq!((q[0].speaker.as_str(), q[0].cue.as_str()), ("President Donald Trump", "telling"));
}

const ACCORDING: &str = "According to officials, the talks will resume next week in Geneva.";

#[test]
fn according_to_is_indirect() {
    let q = run(ACCORDING, &[]);
    assert_eq!(q.len(), 1);
    assert_eq!(q[0].kind, QuoteKind::Indirect);
    assert_eq!(q[0].cue, "According to");
    assert_eq!(q[0].speaker, "officials");
    assert_eq!(q[0].content, "the talks will resume next week in Geneva");
}

const INDIRECT: &str = "Trump said that both sides may have to give up territory.";

#[test]
fn reported_speech() {
    let q = run(INDIRECT, &[]);
    assert_eq!(q.len(), 1);
    assert_eq!(q[0].kind, QuoteKind::Indirect);
    assert_eq!(q[0].content, "that both sides may have to give up territory");
    assert_eq!(q[0].speaker, "Trump");
}

const PRONOUNS: &str = "President Donald Trump met Ukrainian President Volodymyr Zelensky. During the meeting with Zelensky, he said the U.S. would be “involved” in guarantees. White House Press Secretary Karoline Leavitt spoke later. “It is an option,” she explained.";

#[test]
fn pronouns_resolve_by_gender_and_salience() {
    let m = persons(PRONOUNS, &["Donald Trump", "Volodymyr Zelensky", "Zelensky", "Karoline Leavitt"]);
    let q = run(PRONOUNS, &m);
    let he = q.iter().find(|q| q.speaker == "he").expect("he");
    assert_eq!(m[he.mention.expect("resolved")].span.slice(PRONOUNS), "Donald Trump");
    let she = q.iter().find(|q| q.speaker == "she").expect("she");
    assert_eq!(m[she.mention.expect("resolved")].span.slice(PRONOUNS), "Karoline Leavitt");
}

const PRONOUN_AFTER_A_MAN: &str = "Jeff Duncan met Kamala Harris on Monday. Ian Bremmer spoke next. “We disagree,” she said.";

#[test]
fn a_pronoun_passes_over_people_of_the_other_gender() {
    // The people named before "she" are two men, each the subject of his sentence, and a
    // woman who is not: she is the woman.
    let m = persons(PRONOUN_AFTER_A_MAN, &["Jeff Duncan", "Kamala Harris", "Ian Bremmer"]);
    let q = run(PRONOUN_AFTER_A_MAN, &m);
    let she = q.iter().find(|q| q.speaker == "she").expect("she");
    assert_eq!(m[she.mention.expect("resolved")].span.slice(PRONOUN_AFTER_A_MAN), "Kamala Harris");
    // The names of this test and a few others are one gender's only (every listed name is
    // checked in `lexicon::tests`).
    let lx = lexicon::lexicon();
    for w in ["kamala", "kellyanne", "hillary", "karoline", "jeff", "ian", "liam", "donald", "mette"] {
        let f = lx.flags(w);
        assert!((f & lexicon::MALE_NAME != 0) != (f & lexicon::FEMALE_NAME != 0), "{w}");
    }
}

const ROLE_NOUN: &str = "President Donald Trump met Ukrainian President Volodymyr Zelensky. Trump spoke first. “We will help,” the president said.";

#[test]
fn role_noun_resolves_to_title_holder() {
    let m = persons(ROLE_NOUN, &["Donald Trump", "Volodymyr Zelensky", "Trump"]);
    let q = run(ROLE_NOUN, &m);
    let p = q.iter().find(|q| q.speaker == "the president").expect("role speaker");
    let name = m[p.mention.expect("resolved")].span.slice(ROLE_NOUN);
    assert!(name.contains("Trump"), "{name}");
}

const GROUP: &str = "“We are clear that Ukraine must have ironclad guarantees,” European leaders said.";

#[test]
fn group_speaker_kept_without_entity() {
    let m = persons(GROUP, &["Trump"]);
    let q = run(GROUP, &m);
    assert_eq!(q[0].speaker, "European leaders");
    assert_eq!(q[0].mention, None);
}

const TWEET: &str = "We can certainly help in coordination” https://t.co/2WNPUriqjn\n— Name (@handle) July 23, 2016</tweet>\n“Fine,” he said.";

#[test]
fn embedded_post() {
    let q = speech(TWEET);
    assert!(q.iter().any(|q| q.content == "We can certainly help in coordination"));
    assert!(q.iter().any(|q| q.content == "Fine," && q.speaker == "he"));
}

/// An embedded post in the wrapper some exports leave in the text.
const POST_WRAPPER: &str = "Republicans offered prayers.\n\n<tweet pic=\"\" author=\"JebBush\" timestamp=\"1449075600\" tweet_id=\"672153025243426816\">Praying for the victims and the first responders.</tweet>.\n\n“We must act,” Clinton said.";

#[test]
fn a_markup_wrapper_is_not_speech() {
    let plain = rules();
    for ex in std::iter::once(&plain).chain(shipped()) {
        let qs = ex.extract(POST_WRAPPER, &[]);
        for q in &qs {
            let content = q.content.slice(POST_WRAPPER);
            assert!(!content.contains("JebBush") && !content.contains("1449075600") && !content.contains("tweet"), "{content:?}");
            assert!(q.cue.is_none_or(|c| !c.slice(POST_WRAPPER).contains("tweet")));
        }
        assert!(qs.iter().any(|q| q.content.slice(POST_WRAPPER) == "We must act," && q.speaker.is_some_and(|s| s.slice(POST_WRAPPER) == "Clinton")));
    }
}

const TERM_TITLE: &str = "She starred in “The Long Goodbye Show” last year.";

#[test]
fn titles_are_terms() {
    let q = run(TERM_TITLE, &[]);
    assert_eq!(q.len(), 1);
    assert_eq!(q[0].kind, QuoteKind::Term);
}

#[test]
fn shows_named_where_it_was_said_are_terms() {
    for text in ["Pence said on “Fox News Sunday” that the tweet was a joke.", "Ryan said on “Meet the Press” that the plan would fail.", "She told CNN’s “State of the Union” that she would run."] {
        let q = run(text, &[]);
        let title = q.iter().find(|q| q.content.starts_with(|c: char| c.is_uppercase()) && q.content.split_whitespace().count() <= 4).expect("the title is found");
        assert_eq!(title.kind, QuoteKind::Term, "{text}");
        assert!(title.speaker.is_empty() && title.cue.is_empty(), "{text}");
    }
    // a title-cased fragment that is not named as a show is still attributed
    let q = run("Trump called the plan “Total Nonsense” on Friday.", &[]);
    assert_eq!(q[0].kind, QuoteKind::Partial);
}

#[test]
fn empty_and_degenerate_inputs() {
    for t in ["", "\"", "“", "”", "‘’", "\"\"\"", "said", "“”", "\n\n\n", "a ' b ' c", "“a\n”b"] {
        let _ = rules().extract(t, &[]);
    }
}

fn check_spans(text: &str, qs: &[crate::record::Quote], n_mentions: usize) -> Result<(), TestCaseError> {
    for q in qs {
        prop_assert!(q.content.start < q.content.end, "a quote without content");
        for s in [Some(q.content), q.cue, q.speaker].into_iter().flatten() {
            prop_assert!(s.start <= s.end && s.end <= text.len());
            prop_assert!(text.is_char_boundary(s.start) && text.is_char_boundary(s.end));
        }
        if let Some(m) = q.speaker_mention {
            prop_assert!(m < n_mentions);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,300}") {
        let qs = rules().extract(&text, &[]);
        check_spans(&text, &qs, 0)?;
    }

    #[test]
    fn quote_heavy_text_never_panics(parts in prop::collection::vec(prop_oneof![
        Just("“"), Just("”"), Just("\""), Just("'"), Just("‘"), Just("’"), Just("«"), Just("»"), Just("„"),
        Just(" said "), Just("Trump"), Just(" he "), Just("the president"), Just(", "), Just(". "), Just(":"),
        Just("\n"), Just("\n\n"), Just("according to"), Just("officials"), Just("é"), Just("—"), Just("word"),
        Just("<"), Just(">"), Just("</tweet>"), Just("<tweet author=\""), Just("<br/>"), Just("="),
    ], 0..60)) {
        let text: String = parts.concat();
        let m = persons(&text, &["Trump"]);
        let qs = rules().extract(&text, &m);
        check_spans(&text, &qs, m.len())?;
        let _ = rules().attributions(&text);
        if let Some(ex) = shipped() {
            check_spans(&text, &ex.extract(&text, &m), m.len())?;
        }
    }
}

/// A sentence where the tagger finds a source and a cue but no content for them.
const CUE_WITHOUT_CONTENT: &str = "The White House is planning for a possible trilateral meeting between the three presidents in the Hungarian capital of Budapest, Politico reported, citing a Trump administration official and a person close to the administration.";

/// A partial quote with a quoted word inside it.
const NESTED_PARTIAL: &str = "Jack noted that “many of those elected from [Cruz’s] “list” are firmly undecided or support other candidates” and that, “We’re confident that we will receive strong support from this delegation.”";

#[test]
fn one_quotation_is_one_row() {
    let plain = rules();
    for ex in std::iter::once(&plain).chain(shipped()) {
        let qs = ex.extract(NESTED_PARTIAL, &[]);
        let mut places: Vec<_> = qs.iter().map(|q| (q.kind, q.content.start, q.content.end)).collect();
        let n = places.len();
        places.sort_by_key(|p| (p.1, p.2, p.0 as u8));
        places.dedup();
        assert_eq!(places.len(), n, "a quotation reported twice");
    }
}

#[test]
fn a_cue_without_content_reports_nothing() {
    let Some(ex) = shipped() else {
        eprintln!("skipping: no quote tagger model in models/");
        return;
    };
    let qs = ex.extract(CUE_WITHOUT_CONTENT, &[]);
    for q in &qs {
        assert!(q.content.start < q.content.end, "a quote without content: {:?}", q.speaker.map(|s| s.slice(CUE_WITHOUT_CONTENT)));
    }
}

#[test]
fn many_quotes_in_one_sentence_stay_linear() {
    // Every lookback is bounded: this finishes quickly instead of taking quadratic time.
    let text = "word \"a\" said Trump ".repeat(20_000);
    let m = persons(&text, &["Trump"]);
    let qs = rules().extract(&text, &m);
    assert!(qs.len() >= 19_000);
    let text = "He said \"x\", Trump said. ".repeat(10_000);
    let m = persons(&text, &["Trump"]);
    assert!(!rules().extract(&text, &m).is_empty());
}

const APPOSITIVE_BEFORE: &str = "Peter Morgan, a lawyer for the Sierra Club, said “the rule is weak.”";
const APPOSITIVE_AFTER: &str = "“The rule is weak,” said Kenneth Baer, a former Obama administration official who runs Crosscut Strategies.";
const PARTY_LABEL: &str = "“This is a disgusting day,” said Rep. G.K. Butterfield (D-N.C.), head of the Congressional Black Caucus.";
const ACCORDING_TO: &str = "According to sources, the Pentagon is exploring military assistance.";

#[test]
fn a_speaker_takes_in_what_describes_it_but_never_what_was_said() {
    let q = speech(APPOSITIVE_BEFORE);
    assert_eq!(q[0].speaker, "Peter Morgan, a lawyer for the Sierra Club,");
    let q = speech(APPOSITIVE_AFTER);
    assert_eq!(q[0].speaker, "Kenneth Baer, a former Obama administration official who runs Crosscut Strategies");
    // after its cue, the description stops where a clause of its own begins
    let q = speech("“We will not back down,” said Lionel Ortiz, a Texas consultant who said he would not vote for the plan.");
    assert_eq!(q[0].speaker, "Lionel Ortiz, a Texas consultant");
    let q = speech("“We will not back down,” said Maria Lopez, a spokeswoman for the campaign, explaining why the senator stayed home.");
    assert_eq!(q[0].speaker, "Maria Lopez, a spokeswoman for the campaign");
    let q = speech(PARTY_LABEL);
    assert_eq!(q[0].speaker, "Rep. G.K. Butterfield (D-N.C.), head of the Congressional Black Caucus");
    // the speaker still resolves to the person named first, not to one named in the description
    let m = persons(APPOSITIVE_AFTER, &["Kenneth Baer", "Obama"]);
    let q: Vec<Q> = run(APPOSITIVE_AFTER, &m).into_iter().filter(|q| q.kind == QuoteKind::Direct).collect();
    assert_eq!(q[0].mention, Some(0));
    for q in run(ACCORDING_TO, &[]) {
        assert!(!q.speaker.contains("Pentagon"), "{}", q.speaker);
    }
}

const THAT_QUOTE: &str = "Trump wrote on Twitter that, “For those few people knocking me, I will be there!”";

#[test]
fn a_polnear_content_takes_in_the_that_before_a_quotation() {
    let a = rules().attributions(THAT_QUOTE);
    let c = a.iter().find_map(|x| x.content.first().copied()).expect("one attribution");
    assert_eq!(&THAT_QUOTE[c.0..c.1], "that, “For those few people knocking me, I will be there!”");
    // the quotes table keeps the quoted words only
    let q = speech(THAT_QUOTE);
    assert_eq!(q[0].content, "For those few people knocking me, I will be there!");
}

#[test]
fn coordinated_names_speak_together() {
    let q = speech("“We will win,” Obama and Clinton said.");
    assert_eq!(q[0].speaker, "Obama and Clinton");
    // a name that is the object of another verb is not a speaker
    let q = speech("Trump attacked Obama and Clinton said: “Enough.”");
    assert_eq!(q[0].speaker, "Clinton");
}


/// A quote split by its attribution whose second part holds a speaker and a cue of its own.
const SAID_INSIDE: &str = "\"We wanted to ensure that no president could waive sanctions,\" Corker said in a telephone interview Wednesday, pointing out that 98 senators voted last year to insist on a chance to review the Iran deal. \"Most Democrats agree that a president should not be able to do that.\"";

#[test]
fn what_is_said_inside_the_marks_does_not_attribute_the_quote() {
    let plain = rules();
    for ex in std::iter::once(&plain).chain(shipped()) {
        let qs = ex.extract(SAID_INSIDE, &[]);
        for q in qs.iter().filter(|q| q.kind == QuoteKind::Direct) {
            for part in [q.cue, q.speaker].into_iter().flatten() {
                assert!(part.end <= q.content.start || part.start >= q.content.end, "{:?} attributed by its own words {:?}", q.content.slice(SAID_INSIDE), part.slice(SAID_INSIDE));
            }
        }
        let second = qs.iter().find(|q| q.content.slice(SAID_INSIDE).starts_with("Most Democrats")).expect("the second part");
        assert_eq!(second.speaker.map(|s| s.slice(SAID_INSIDE)), Some("Corker"));
    }
}

#[test]
fn words_outside_marks_sharing_a_quotations_cue_stand_alone() {
    let text = "“We will win this time,” Smith said on Monday, and the crowd cheered loudly.";
    let doc = rules::Doc::new(text);
    let mut found = rules::find(&doc);
    assert_eq!(found.len(), 1);
    assert!(found[0].cue.is_some());
    // what a tagger might add: the rest of the sentence under the same cue
    let from = text.find("the crowd").unwrap();
    let piece = rules::Found { kind: QuoteKind::Indirect, content: (from, text.len() - 1), content_marked: (from, text.len() - 1), continued: false, confidence: 0.6, ..found[0].clone() };
    found.push(piece);
    let a = attributions_of(text, &doc, &found);
    assert_eq!(a.len(), 2, "{a:?}");
    assert_eq!(a[0].content.len(), 1);
    assert_eq!(&text[a[0].content[0].0..a[0].content[0].1], "“We will win this time,”");
    assert!(a[0].cue.is_some() && a[0].source.is_some());
    assert_eq!(&text[a[1].content[0].0..a[1].content[0].1], "the crowd cheered loudly");
    assert!(a[1].cue.is_none() && a[1].source.is_none());
    // the second part of a split quotation is still one attribution with the first
    let a = rules().attributions("“We will win,” Smith said. “We always do.”");
    assert_eq!(a.len(), 1, "{a:?}");
    assert_eq!(a[0].content.len(), 2);
}

#[test]
fn content_split_only_by_a_conjunction_is_one_span() {
    let t = "He says he wishes he could have stayed longer, but that his team “did everything we could do.”";
    let first = t.find("he wishes").unwrap();
    let first_end = t.find(", but").unwrap();
    let second = t.find("that his").unwrap();
    let mut c = vec![(second, t.len()), (first, first_end)];
    super::join_content(t, &mut c);
    assert_eq!(c, vec![(first, t.len())]);
    // A cue between the parts keeps them apart.
    let t = "The plan is sound, he said, and it will pass.";
    let mut c = vec![(0, t.find(", he").unwrap()), (t.find("it will").unwrap(), t.len() - 1)];
    let before = c.clone();
    super::join_content(t, &mut c);
    assert_eq!(c, before);
}
