//! Word lists the quote rules and the tagger features rely on: reporting verbs with every
//! inflection, pronouns, role and group nouns, and first names that carry gender evidence.
//!
//! Lookups go through a hash of the ASCII-lowercased word so that the hot path never
//! allocates.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// The keys are already hashes: pass them through.
#[derive(Default)]
struct Ident(u64);

impl Hasher for Ident {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ b as u64;
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
}

type IdMap = HashMap<u64, u32, BuildHasherDefault<Ident>>;
use std::sync::OnceLock;

/// A reporting verb in any inflection ("said", "tells", "insisting").
pub const CUE: u32 = 1;
/// A present participle of a reporting verb ("saying", "telling").
pub const CUE_ING: u32 = 1 << 1;
/// A weak cue: verbs of belief, intention or perception that PolNeAR also annotates but that
/// rarely introduce a direct quote ("believe", "want", "show").
pub const CUE_WEAK: u32 = 1 << 2;
/// Personal pronoun that can be a speaker ("he", "she", "they", "I", "we").
pub const PRONOUN: u32 = 1 << 3;
/// Masculine pronoun.
pub const MASC: u32 = 1 << 4;
/// Feminine pronoun.
pub const FEM: u32 = 1 << 5;
/// A role noun that names one office holder ("president", "spokesperson", "senator").
pub const ROLE: u32 = 1 << 6;
/// A group noun that can speak ("officials", "leaders", "sources").
pub const GROUP: u32 = 1 << 7;
/// A determiner or quantifier that can open a speaker phrase ("the", "a", "four").
pub const DET: u32 = 1 << 8;
/// An auxiliary or adverb that may sit between a speaker and the cue ("has", "also").
pub const AUX: u32 = 1 << 9;
/// A capitalised function word that does not start a name ("But", "In", "When").
pub const FUNC: u32 = 1 << 10;
/// A male first name.
pub const MALE_NAME: u32 = 1 << 11;
/// A female first name.
pub const FEMALE_NAME: u32 = 1 << 12;
/// A day or time word that may sit between a speaker and the cue ("Tuesday", "yesterday").
pub const TIMEWORD: u32 = 1 << 13;
/// A relative pronoun that can be a PolNeAR source ("who", "which").
pub const RELPRON: u32 = 1 << 14;
/// Words after which a short quoted fragment is a term, not speech ("a", "so-called").
pub const TERM_DET: u32 = 1 << 15;
/// Abbreviations whose final period does not end a sentence ("Mr.", "Sen.").
pub const ABBREV: u32 = 1 << 16;

/// Reporting verbs: (base, third person, past, past participle, present participle).
/// Empty fields are derived by the regular rules.
const VERBS: &[(&str, &str, &str, &str, &str)] = &[
    ("say", "says", "said", "said", "saying"),
    ("tell", "tells", "told", "told", "telling"),
    ("write", "writes", "wrote", "written", "writing"),
    ("add", "", "", "", ""),
    ("explain", "", "", "", ""),
    ("state", "", "", "", ""),
    ("insist", "", "", "", ""),
    ("note", "", "", "", ""),
    ("claim", "", "", "", ""),
    ("argue", "", "", "", ""),
    ("ask", "", "", "", ""),
    ("reply", "replies", "replied", "replied", "replying"),
    ("respond", "", "", "", ""),
    ("announce", "", "", "", ""),
    ("declare", "", "", "", ""),
    ("warn", "", "", "", ""),
    ("report", "", "", "", ""),
    ("tweet", "", "", "", ""),
    ("post", "", "", "", ""),
    ("suggest", "", "", "", ""),
    ("acknowledge", "", "", "", ""),
    ("admit", "", "admitted", "admitted", "admitting"),
    ("deny", "denies", "denied", "denied", "denying"),
    ("confirm", "", "", "", ""),
    ("recall", "", "", "", ""),
    ("continue", "", "", "", ""),
    ("conclude", "", "", "", ""),
    ("predict", "", "", "", ""),
    ("promise", "", "", "", ""),
    ("vow", "", "", "", ""),
    ("pledge", "", "", "", ""),
    ("urge", "", "", "", ""),
    ("agree", "", "agreed", "agreed", "agreeing"),
    ("complain", "", "", "", ""),
    ("joke", "", "", "", ""),
    ("quip", "", "quipped", "quipped", "quipping"),
    ("remark", "", "", "", ""),
    ("observe", "", "", "", ""),
    ("comment", "", "", "", ""),
    ("assert", "", "", "", ""),
    ("maintain", "", "", "", ""),
    ("contend", "", "", "", ""),
    ("emphasize", "", "", "", ""),
    ("emphasise", "", "", "", ""),
    ("stress", "stresses", "", "", ""),
    ("mention", "", "", "", ""),
    ("reveal", "", "", "", ""),
    ("disclose", "", "", "", ""),
    ("indicate", "", "", "", ""),
    ("reiterate", "", "", "", ""),
    ("repeat", "", "", "", ""),
    ("testify", "testifies", "testified", "testified", "testifying"),
    ("shout", "", "", "", ""),
    ("yell", "", "", "", ""),
    ("whisper", "", "", "", ""),
    ("exclaim", "", "", "", ""),
    ("boast", "", "", "", ""),
    ("brag", "", "bragged", "bragged", "bragging"),
    ("concede", "", "", "", ""),
    ("counter", "", "", "", ""),
    ("retort", "", "", "", ""),
    ("answer", "", "", "", ""),
    ("inform", "", "", "", ""),
    ("caution", "", "", "", ""),
    ("allege", "", "", "", ""),
    ("charge", "", "", "", ""),
    ("accuse", "", "", "", ""),
    ("describe", "", "", "", ""),
    ("call", "", "", "", ""),
    ("praise", "", "", "", ""),
    ("criticize", "", "", "", ""),
    ("criticise", "", "", "", ""),
    ("blast", "", "", "", ""),
    ("slam", "", "slammed", "slammed", "slamming"),
    ("mock", "", "", "", ""),
    ("demand", "", "", "", ""),
    ("threaten", "", "", "", ""),
    ("propose", "", "", "", ""),
    ("recommend", "", "", "", ""),
    ("advise", "", "", "", ""),
    ("request", "", "", "", ""),
    ("wonder", "", "", "", ""),
    ("muse", "", "", "", ""),
    ("recount", "", "", "", ""),
    ("estimate", "", "", "", ""),
    ("add", "", "", "", ""),
    ("cite", "", "", "", ""),
    ("quote", "", "", "", ""),
    ("announce", "", "", "", ""),
    ("speak", "speaks", "spoke", "spoken", "speaking"),
    ("write", "writes", "wrote", "written", "writing"),
    ("point", "", "", "", ""),
    ("reason", "", "", "", ""),
    ("scoff", "", "", "", ""),
    ("snap", "", "snapped", "snapped", "snapping"),
    ("sigh", "", "", "", ""),
    ("laugh", "", "", "", ""),
    ("plead", "", "pleaded", "pleaded", "pleading"),
    ("acknowledge", "", "", "", ""),
    ("conclude", "", "", "", ""),
    ("contend", "", "", "", ""),
    ("affirm", "", "", "", ""),
    ("assure", "", "", "", ""),
    ("proclaim", "", "", "", ""),
    ("publish", "publishes", "", "", ""),
    ("relate", "", "", "", ""),
    ("blame", "", "", "", ""),
    ("hint", "", "", "", ""),
    ("signal", "", "", "", ""),
    ("reaffirm", "", "", "", ""),
    ("defend", "", "", "", ""),
    ("dismiss", "dismisses", "", "", ""),
    ("reject", "", "", "", ""),
    ("vow", "", "", "", ""),
    ("opine", "", "", "", ""),
    ("echo", "echoes", "echoed", "echoed", "echoing"),
];

/// Weak cues: belief, intention, perception and evidence verbs.
const WEAK_VERBS: &[(&str, &str, &str, &str, &str)] = &[
    ("believe", "", "", "", ""),
    ("think", "thinks", "thought", "thought", "thinking"),
    ("feel", "feels", "felt", "felt", "feeling"),
    ("know", "knows", "knew", "known", "knowing"),
    ("want", "", "", "", ""),
    ("hope", "", "", "", ""),
    ("fear", "", "", "", ""),
    ("expect", "", "", "", ""),
    ("show", "shows", "showed", "shown", "showing"),
    ("find", "finds", "found", "found", "finding"),
    ("see", "sees", "saw", "seen", "seeing"),
    ("seem", "", "", "", ""),
    ("appear", "", "", "", ""),
    ("worry", "worries", "worried", "worried", "worrying"),
    ("plan", "", "planned", "planned", "planning"),
    ("support", "", "", "", ""),
    ("oppose", "", "", "", ""),
    ("endorse", "", "", "", ""),
    ("decline", "", "", "", ""),
    ("refuse", "", "", "", ""),
    ("seek", "seeks", "sought", "sought", "seeking"),
    ("insist", "", "", "", ""),
    ("prefer", "", "preferred", "preferred", "preferring"),
    ("doubt", "", "", "", ""),
    ("consider", "", "", "", ""),
    ("agree", "", "agreed", "agreed", "agreeing"),
    ("argue", "", "", "", ""),
    ("accuse", "", "", "", ""),
    ("view", "", "", "", ""),
    ("question", "", "", "", ""),
];

const PRONOUNS_M: &[&str] = &["he", "him", "himself"];
const PRONOUNS_F: &[&str] = &["she", "her", "herself"];
const PRONOUNS_N: &[&str] = &["they", "i", "we", "it", "you"];
const RELPRONS: &[&str] = &["who", "which", "that", "whom"];

const ROLES: &[&str] = &[
    "president", "spokesperson", "spokesman", "spokeswoman", "secretary", "senator", "sen.",
    "governor", "gov.", "minister", "chancellor", "premier", "envoy", "ambassador", "mayor",
    "candidate", "nominee", "chairman", "chairwoman", "chair", "director", "leader", "speaker",
    "congressman", "congresswoman", "representative", "rep.", "official", "source", "aide",
    "adviser", "advisor", "analyst", "expert", "general", "gen.", "commander", "chief",
    "attorney", "lawyer", "judge", "justice", "ceo", "founder", "host", "author", "professor",
    "economist", "strategist", "pollster", "spokesperson", "manager", "campaign", "king",
    "queen", "pope", "prince", "democrat", "republican", "official", "prosecutor", "sheriff",
    "officer", "administrator", "commissioner", "secretary-general", "press", "businessman",
    "billionaire", "reporter", "columnist", "editor", "critic", "writer", "activist",
    "congressman", "lawmaker", "vice", "former", "house", "white",
];

const GROUPS: &[&str] = &[
    "officials", "leaders", "sources", "aides", "advisers", "advisors", "analysts", "experts",
    "critics", "supporters", "democrats", "republicans", "voters", "lawmakers", "senators",
    "members", "residents", "people", "americans", "economists", "strategists", "observers",
    "investigators", "prosecutors", "police", "authorities", "researchers", "scientists",
    "diplomats", "negotiators", "allies", "protesters", "organizers", "reporters", "witnesses",
    "participants", "respondents", "polls", "surveys", "studies", "reports", "documents",
    "campaign", "administration", "government", "ministry", "department", "committee",
    "spokespeople", "officers", "activists", "insiders", "conservatives", "liberals",
    "progressives", "donors", "delegates", "pollsters", "staffers", "others", "some", "many",
    "both", "all", "opponents", "rivals", "candidates", "commentators", "citizens",
];

const DETS: &[&str] = &[
    "the", "a", "an", "this", "that", "these", "those", "some", "many", "several", "two",
    "three", "four", "five", "six", "seven", "eight", "nine", "ten", "one", "most", "other",
    "another", "both", "all", "his", "her", "their", "its", "our", "senior", "top", "former",
    "then", "longtime", "unnamed", "anonymous", "european", "american", "u.s.", "federal",
    "local", "state", "national", "foreign", "military", "western", "russian", "ukrainian",
];

const AUXES: &[&str] = &[
    "has", "have", "had", "also", "later", "then", "previously", "reportedly", "would",
    "will", "did", "does", "do", "once", "again", "repeatedly", "recently", "initially",
    "earlier", "already", "often", "frequently", "publicly", "privately", "first", "further",
    "just", "even", "still", "is", "was", "were", "are", "been", "being", "may", "might",
    "could", "can", "should", "must", "not", "never", "flatly", "simply", "explicitly",
];

const FUNCS: &[&str] = &[
    "but", "and", "or", "in", "on", "at", "during", "after", "before", "when", "while", "if",
    "however", "meanwhile", "still", "yet", "so", "as", "for", "from", "with", "without",
    "since", "because", "although", "though", "despite", "under", "over", "by", "of", "to",
    "earlier", "later", "then", "now", "today", "yesterday", "also", "asked", "instead",
    "regardless", "following", "according", "like", "unlike", "there", "here", "what",
    "where", "why", "how", "this", "that", "these", "those", "it", "its", "not", "no",
    "indeed", "even", "all", "every", "each", "both", "once", "until", "among", "amid",
    "within", "into", "through", "about", "against", "between", "speaking", "asked",
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
];

const TIMEWORDS: &[&str] = &[
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "today",
    "yesterday", "tonight", "morning", "afternoon", "evening", "night", "on", "last", "this",
    "week", "month", "year", "earlier", "later", "recently", "in", "a", "statement",
    "interview", "told",
];

const TERM_DETS: &[&str] = &[
    "a", "an", "the", "so-called", "dubbed", "termed", "called", "named", "titled", "entitled",
    "our", "its", "their",
];

const ABBREVS: &[&str] = &[
    "mr", "mrs", "ms", "dr", "sen", "rep", "gov", "gen", "lt", "col", "sgt", "capt", "st",
    "jr", "sr", "prof", "rev", "hon", "no", "vs", "inc", "co", "corp", "ltd", "jan", "feb",
    "mar", "apr", "aug", "sept", "sep", "oct", "nov", "dec", "u.s", "u.k", "u.n", "d.c",
    "e.u", "a.m", "p.m", "etc", "fig", "pres", "adm", "maj", "cmdr", "supt", "ft", "mt",
];

const MALE: &[&str] = &[
    "donald", "joe", "barack", "george", "bill", "john", "james", "robert", "michael",
    "william", "david", "richard", "joseph", "thomas", "charles", "christopher", "daniel",
    "matthew", "anthony", "mark", "paul", "steven", "steve", "andrew", "kenneth", "kevin",
    "brian", "edward", "ronald", "timothy", "jason", "jeffrey", "ryan", "jacob", "gary",
    "nicholas", "eric", "jonathan", "stephen", "larry", "justin", "scott", "brandon",
    "benjamin", "samuel", "frank", "gregory", "raymond", "alexander", "patrick", "jack",
    "dennis", "jerry", "tyler", "aaron", "jose", "adam", "henry", "nathan", "douglas",
    "zachary", "peter", "kyle", "walter", "ethan", "jeremy", "harold", "keith", "christian",
    "roger", "noah", "gerald", "carl", "terry", "sean", "austin", "arthur", "lawrence",
    "jesse", "dylan", "bryan", "joe", "jordan", "billy", "bruce", "albert", "willie", "gabriel",
    "logan", "alan", "juan", "wayne", "roy", "ralph", "randy", "eugene", "vincent", "russell",
    "elijah", "louis", "bobby", "philip", "johnny", "mike", "ted", "marco", "rand", "chris",
    "jeb", "bernie", "mitch", "newt", "rudy", "rick", "ben", "tim", "mike", "reince", "corey",
    "vladimir", "volodymyr", "emmanuel", "keir", "friedrich", "alexander", "jens",
    "boris", "olaf", "xi", "recep", "benjamin", "jared", "eric", "jim", "tom", "dan", "bob",
    "tony", "nick", "sam", "pete", "chuck", "harry", "lindsey", "ron", "jd", "j.d.", "marco",
    "hunter", "sergei", "dmitry", "dmitri", "mohammed", "muhammad", "ali", "ahmed",
    "antonio", "pedro", "carlos", "luis", "jean", "pierre", "francois", "hans", "klaus",
    "giuseppe", "matteo", "sergio", "andrzej", "viktor", "petro", "rishi", "narendra",
    "jeff", "liam", "ian", "joshua", "ivan", "igor", "yuri", "nikolai", "mikhail", "andrei",
    "alexei", "alexey", "andriy", "oleksandr", "jacques", "nicolas", "helmut", "gerhard",
    "wolfgang", "gordon", "mario", "silvio", "manuel", "francisco", "javier", "miguel", "lars",
    "anders", "erik", "hassan", "hussein", "omar", "abdullah", "shinzo", "fumio", "elon",
    "greg", "doug", "dave", "jon", "jimmy", "kenny", "jerome", "marcus", "martin", "neil",
    "owen", "oliver", "oscar", "simon", "stuart", "trevor", "victor", "warren", "wesley",
    "howard", "glenn", "craig", "barry", "brett", "brad", "bradley", "chad", "colin", "curtis",
    "darren", "derek", "fred", "geoffrey", "graham", "hank", "herbert", "hugh", "isaac", "ken",
    "leonard", "leon", "luke", "lyndon", "mitt", "nate", "norman", "phil", "seth", "shawn",
    "stanley", "todd", "tommy", "travis", "troy", "wade", "zach", "dick", "ed", "joel",
    "pope", "king", "prince", "sir", "lord", "mr", "mr.",
];

const FEMALE: &[&str] = &[
    "hillary", "karoline", "mary", "patricia", "jennifer", "linda", "elizabeth", "barbara",
    "susan", "jessica", "sarah", "karen", "nancy", "lisa", "betty", "margaret", "sandra",
    "ashley", "kimberly", "emily", "donna", "michelle", "dorothy", "carol", "amanda",
    "melissa", "deborah", "stephanie", "rebecca", "sharon", "laura", "cynthia", "kathleen",
    "amy", "shirley", "angela", "helen", "anna", "brenda", "pamela", "nicole", "emma",
    "samantha", "katherine", "christine", "debra", "rachel", "catherine", "carolyn", "janet",
    "ruth", "maria", "heather", "diane", "virginia", "julie", "joyce", "victoria", "olivia",
    "kelly", "christina", "lauren", "joan", "evelyn", "judith", "megan", "cheryl", "andrea",
    "hannah", "martha", "jacqueline", "frances", "gloria", "ann", "teresa", "kathryn", "sara",
    "janice", "jean", "alice", "madison", "doris", "abigail", "julia", "judy", "grace",
    "denise", "amber", "marilyn", "beverly", "danielle", "theresa", "sophia", "marie",
    "diana", "brittany", "natalie", "isabella", "charlotte", "rose", "alexis", "kayla",
    "ursula", "giorgia", "angela", "theresa", "liz", "kristi", "tulsi", "nikki", "sarah",
    "kellyanne", "ivanka", "melania", "michelle", "elizabeth", "kamala", "nancy", "dianne",
    "maxine", "marsha", "tammy", "kirsten", "amy", "susan", "lisa", "condoleezza", "madeleine",
    "huma", "donna", "debbie", "hope", "kate", "katie", "jill", "pam", "tulsi", "marjorie",
    "lauren", "kari", "elise", "olena", "yulia", "mette", "jacinda", "anne", "annie", "beth",
    "betsy", "carly", "cindy", "claire", "connie", "ellen", "erin", "eva", "fiona", "gina",
    "gwen", "irene", "jane", "jenny", "joanna", "joanne", "josephine", "kristen", "lucy",
    "mandy", "marcia", "meghan", "melinda", "meredith", "molly", "monica", "nina", "nora",
    "paula", "peggy", "penny", "phyllis", "rita", "rosa", "sally", "sheila", "sonia", "stacey",
    "sue", "sylvia", "tanya", "tina", "valerie", "vanessa", "wendy", "yvonne", "zoe", "ilhan",
    "alexandria", "gretchen", "greta", "nadia",
    "ms", "ms.", "mrs", "mrs.", "madam", "lady", "queen", "dame",
];

/// The lexicon: lowercased word hash -> flag bits.
pub struct Lexicon {
    map: IdMap,
}

/// Undoes the final fold of [`word_hash`] (`h ^ (h >> 32)` keeps the high half, so applying
/// it again gives `h` back). For an ASCII word of at most 48 bytes the result is the FNV-1a
/// hash of the lower-cased word, the entity stage's `hash_lower`, so the quote tagger can look
/// the word's clusters up without hashing it again.
#[inline]
pub fn unfold(x: u64) -> u64 {
    x ^ (x >> 32)
}

/// Hash of the ASCII-lowercased bytes of `w` (non-ASCII bytes kept as they are; curly
/// apostrophes folded to `'`).
#[inline]
pub fn word_hash(w: &str) -> u64 {
    let b = w.as_bytes();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    let n = b.len().min(48);
    while i < n {
        let c = b[i];
        // Fold U+2019 / U+2018 (E2 80 99 / E2 80 98) to '.
        let v = if c == 0xE2 && i + 2 < b.len() && b[i + 1] == 0x80 && (b[i + 2] == 0x99 || b[i + 2] == 0x98) {
            i += 3;
            b'\''
        } else {
            i += 1;
            c.to_ascii_lowercase()
        };
        h = (h ^ v as u64).wrapping_mul(0x0100_0000_01b3);
    }
    h ^ (h >> 32)
}

fn inflect(base: &str) -> [String; 4] {
    let third = if base.ends_with('y') && !base.ends_with("ay") && !base.ends_with("ey") && !base.ends_with("oy") {
        format!("{}ies", &base[..base.len() - 1])
    } else if base.ends_with('s') || base.ends_with("sh") || base.ends_with("ch") || base.ends_with('x') || base.ends_with('o') {
        format!("{base}es")
    } else {
        format!("{base}s")
    };
    let past = if base.ends_with('e') {
        format!("{base}d")
    } else if base.ends_with('y') && !base.ends_with("ay") && !base.ends_with("ey") && !base.ends_with("oy") {
        format!("{}ied", &base[..base.len() - 1])
    } else {
        format!("{base}ed")
    };
    let ing = if base.ends_with("ee") {
        format!("{base}ing")
    } else if let Some(stem) = base.strip_suffix('e') {
        format!("{stem}ing")
    } else {
        format!("{base}ing")
    };
    [third, past.clone(), past, ing]
}

impl Lexicon {
    fn add(&mut self, w: &str, f: u32) {
        *self.map.entry(word_hash(w)).or_insert(0) |= f;
    }

    fn add_verbs(&mut self, verbs: &[(&str, &str, &str, &str, &str)], flag: u32) {
        for &(base, s, ed, en, ing) in verbs {
            let reg = inflect(base);
            let pick = |given: &str, derived: &String| if given.is_empty() { derived.clone() } else { given.to_string() };
            self.add(base, flag);
            self.add(&pick(s, &reg[0]), flag);
            self.add(&pick(ed, &reg[1]), flag);
            self.add(&pick(en, &reg[2]), flag);
            self.add(&pick(ing, &reg[3]), flag | CUE_ING);
        }
    }

    fn build() -> Lexicon {
        let mut lx = Lexicon { map: IdMap::with_capacity_and_hasher(4096, Default::default()) };
        lx.add_verbs(VERBS, CUE);
        lx.add_verbs(WEAK_VERBS, CUE_WEAK);
        for w in PRONOUNS_M {
            lx.add(w, PRONOUN | MASC);
        }
        for w in PRONOUNS_F {
            lx.add(w, PRONOUN | FEM);
        }
        for w in PRONOUNS_N {
            lx.add(w, PRONOUN);
        }
        for w in RELPRONS {
            lx.add(w, RELPRON);
        }
        for w in ROLES {
            lx.add(w, ROLE);
        }
        for w in GROUPS {
            lx.add(w, GROUP);
        }
        for w in DETS {
            lx.add(w, DET);
        }
        for w in AUXES {
            lx.add(w, AUX);
        }
        for w in FUNCS {
            lx.add(w, FUNC);
        }
        for w in TIMEWORDS {
            lx.add(w, TIMEWORD);
        }
        for w in TERM_DETS {
            lx.add(w, TERM_DET);
        }
        for w in ABBREVS {
            lx.add(w, ABBREV);
        }
        for w in MALE {
            lx.add(w, MALE_NAME);
        }
        for w in FEMALE {
            lx.add(w, FEMALE_NAME);
        }
        lx
    }

    /// Flags of a word (0 when unknown).
    #[inline]
    pub fn flags(&self, w: &str) -> u32 {
        if w.len() > 40 {
            return 0;
        }
        self.flags_hash(word_hash(w))
    }

    /// Flags of a word given its [`word_hash`].
    #[inline]
    pub fn flags_hash(&self, h: u64) -> u32 {
        self.map.get(&h).copied().unwrap_or(0)
    }
}

/// The process-wide lexicon.
pub fn lexicon() -> &'static Lexicon {
    static LX: OnceLock<Lexicon> = OnceLock::new();
    LX.get_or_init(Lexicon::build)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inflections_are_cues() {
        let lx = lexicon();
        for w in ["said", "Says", "telling", "explained", "insisted", "replied", "tweeted", "wrote", "stated", "adds"] {
            assert!(lx.flags(w) & CUE != 0, "{w}");
        }
        assert!(lx.flags("saying") & CUE_ING != 0);
        assert!(lx.flags("she") & FEM != 0);
        assert!(lx.flags("officials") & GROUP != 0);
        assert_eq!(lx.flags("table") & CUE, 0);
    }

    #[test]
    fn every_listed_first_name_has_one_gender() {
        // Names both genders carry (Jean: French men, English women) give no evidence.
        const BOTH: &[&str] = &["jean"];
        let lx = lexicon();
        for w in MALE.iter().chain(FEMALE).filter(|w| !BOTH.contains(w)) {
            let f = lx.flags(w);
            assert!((f & MALE_NAME != 0) != (f & FEMALE_NAME != 0), "{w}");
        }
    }
}
