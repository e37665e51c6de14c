"""Stance of a segment on a position question: which option the speaker supports.

A *position question* is a parent code with two or more opposing option codes (for example
integrate vs disarm self-defence groups). The rule coder finds where an option is *mentioned*
(its keywords matched); this module decides what the speaker *says* about it, in French: an
option mentioned under a negation, in a rhetorical question, in a conceded clause, in reported
speech the speaker rejects, in the condition of a warning or with irony is usually argued
*against*. :func:`detect_stances` reads each candidate mention with its sentence and the
neighbouring sentences of the same turn and returns the stance, the linguistic form that
decided it, the cue words and a confidence.

The analysis is rule-based and generic: French function words, negation, discourse markers
and a small evaluative lexicon (general judgements, plus a few generic security-domain ones
such as « impunité », « bavure », « bandit »), with no vocabulary of any position question or
country; domain cues can be added through ``cues``, e.g. the codebook's ``stance`` section.
It reads the segment ``text`` (punctuation matters: questions, commas, quotes); ``lemmas`` are
not needed. No parser is used.

Paths, in order, for each mention of an option:

- ``réserve``: explicit hedging in the segment (« je n'ai pas d'avis tranché », « ça dépend »,
  « il faut étudier ») unless a clear stance follows a « mais »;
- ``ironie``: an enthusiastic opener (« bien sûr, », « génial, ») with a 1st-person-plural
  imperative, an escalation (« tant qu'on y est ») or an echo (« des cas isolés, oui, isolés à
  chaque poste »): against the option, low confidence;
- ``condition``: mention in the « si … » clause: the consequence decides (« si on intègre les
  milices, on légalise … » → against; counterfactual « si X était …, on l'aurait vu » →
  against); mention in the main clause of a condition → conditional support, lower
  confidence;
- ``discours rapporté``: mention inside reported speech (« certains disent que … », « selon
  … », a summary « pour certains …, pour d'autres … », a quotation): the speaker's reaction
  decides (« c'est faux », « ils ont raison », a rhetorical question); no reaction → no stance;
- ``question rhétorique``: mention in a question: « pourquoi ne pas … ? », « n'est-ce pas … ? »
  → support; « qui va …? », « et après ? », « vraiment ? », an echo question → against; an
  information question (« faut-il …, selon vous ? ») → no stance; a challenge question in the
  next sentence of the turn (« … les désarmer. Mais qui protégera les villages ? ») → against;
- ``concession``: mention in a conceded part (« je comprends ceux qui …, mais … », « certes …,
  mais … », « même si … »): the part after « mais » decides, by default against the conceded
  option; « …, mais seulement si / mais alors … » → conditional support;
- ``négation``: negations and « against » cues before the mention in its clause, their parity
  (« je ne suis pas contre » = support); a short « non » / « jamais » after it; an option
  preferred to another (« plutôt que de les intégrer, il faut les désarmer »);
- ``évaluation``: the mention's predicate judges it (« intégrer les milices, c'est légaliser
  des armes », « serait une erreur », « est indispensable »);
- ``direct``: otherwise the mention is support for its option.

Confidence: each decision path has a fixed confidence, set from its reliability on sentences
the rules had not been tuned on (see ``_PATH_CONFIDENCE`` and ``benchmarks/stance.py``), lowered
when the mentions of a segment disagree, when the matched text cannot be found in the segment,
or when the stance rests on the next sentence. Outputs below :data:`DEFAULT_THRESHOLD` (0.6)
should be shown as « à vérifier »: irony, echo questions, conceded clauses without a clear
continuation, conditions without a clear consequence, conditional support.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pandas as pd

__all__ = [
    "DEFAULT_THRESHOLD",
    "FORMS",
    "NO_STANCE",
    "OUTPUT_COLUMNS",
    "RESERVED",
    "detect_stances",
    "fold_text",
]

#: Linguistic forms through which a stance is expressed (the ``form`` column).
FORMS = ("direct", "négation", "évaluation", "question rhétorique", "concession",
         "discours rapporté", "condition", "ironie", "réserve")
#: ``stance`` value for explicit hedging ("je n'ai pas d'avis tranché").
RESERVED = "réservé"
#: ``stance`` value when the segment states no stance (reported speech, a genuine question).
NO_STANCE = ""
#: Columns of the table returned by :func:`detect_stances`.
OUTPUT_COLUMNS = ["segment_id", "question", "matched_code", "stance", "confidence", "form",
                  "cue", "verified"]
#: Suggested threshold: outputs with a lower confidence are to be checked by a person.
DEFAULT_THRESHOLD = 0.6

# Confidence of each decision path. On the dev split every path is right 92-100 % of the time
# (the rules were tuned there), so these values follow the blind checks instead: the share of
# correct answers on sentences first seen after the rules were written (benchmarks/stance.py,
# README of the set), lowest for the paths that fail most there (default readings, irony,
# echo questions, conceded clauses, conditions without a clear consequence).
_PATH_CONFIDENCE = {
    "réserve": 0.8,
    "négation": 0.75,
    "négation:après": 0.65,
    "direct:modal": 0.75,
    "direct": 0.65,
    "évaluation": 0.7,
    "rapporté:réaction": 0.7,
    "rapporté:adhésion": 0.7,
    "rapporté:neutre": 0.65,
    "question:soutien": 0.7,
    "question:contre": 0.7,
    "question:information": 0.65,
    "question:écho": 0.55,
    "question:suivante": 0.55,
    "concession:suite": 0.6,
    "concession:même si": 0.6,
    "concession:condition": 0.55,
    "concession:défaut": 0.5,
    "condition:conséquence": 0.65,
    "condition:contrefactuel": 0.65,
    "condition:au moins": 0.55,
    "condition:principale": 0.55,
    "condition:défaut": 0.45,
    "ironie": 0.45,
    "ironie:écho": 0.45,
    "alternative": 0.55,
}


# --------------------------------------------------------------------------- text helpers
def fold_text(text: str) -> str:
    """Lower-case, strip accents and normalise quotes/spaces, keeping the string's length.

    Every character maps to exactly one character, so offsets in the folded string are
    offsets in the original text.

    Args:
        text: any text.

    Returns:
        The folded text: ``’`` → ``'``, ``«»“”`` → ``"``, non-breaking and other spaces → a
        space, ``…`` → ``.``, accents removed, lower case.

    """
    out = []
    for ch in str(text):
        if ch in "’‘`´ʼ":
            out.append("'")
        elif ch in "«»“”„":
            out.append('"')
        elif ch.isspace():
            out.append(" ")
        elif ch in "–—‑":
            out.append("-")
        elif ch == "…":
            out.append(".")
        else:
            base = unicodedata.normalize("NFD", ch)[0].lower()
            out.append(base if len(base) == 1 else ch)
    return "".join(out)


def _rx(*alternatives: str) -> re.Pattern:
    """Compile alternatives (regex fragments over folded text) with word boundaries."""
    return re.compile(r"(?<![a-z0-9])(?:" + "|".join(alternatives) + r")(?![a-z0-9])")


# Clause boundaries: punctuation, and discourse connectives that open a new clause.
_PUNCT = re.compile(r"[,;:!?.()]")
_PIVOT = _rx("mais", "pourtant", "cependant", "toutefois", "neanmoins", "en revanche",
             "reste que", "il n'empeche", "par contre")
_CONNECTIVE = _rx("mais", "pourtant", "cependant", "toutefois", "neanmoins", "sinon", "car",
                  "puisque", "parce que", "parce qu", "alors que", "alors qu", "tandis que",
                  "tandis qu", "en revanche", "par contre")
_SENT_END = re.compile(r"[.!?]+(?=\s|\"|$)")
_TOKEN = re.compile(r"[a-z0-9œæ]+")

# Negation: one event per negative word (ne/n' alone is not counted).
_NEG = _rx("pas", "jamais", "aucun", "aucune", "nullement", "guere", "ni", "sans", "rien")
_NEG_AFTER_NE = _rx("plus", "personne", "point")
_NEG_BEFORE_NE = re.compile(r"(?<![a-z])(?:personne|nul|nulle|aucun|aucune)\s+(?:ne|n')")
# a negated modal inside a long rule match: "le commandant ne doit en aucun cas présider"
_NEG_MODAL = re.compile(
    r"(?<![a-z])(?:ne|n')\s*(?:doi[st]|doivent|devr\w+|peu[tx]|peuvent|pourr\w+|faut|faudr\w+|"
    r"veu[tx]|veulent|voudr\w+|sauri\w+)\s+(?:\w+\s+)?(?:pas|jamais|plus|en aucun cas|"
    r"aucunement|nullement)(?![a-z])")
_NOT_NEG = _rx("pas seulement", "y a pas que", "y a pas qu", "pas que ca", "pas que cela",
               "pourquoi pas", "pas mal",
               "non seulement", "sans doute", "sans aucun doute", "rien que", "pas encore")
_NON = re.compile(r"(?<![a-z])non(?=\s*(?:[,.;:!?)]|$|a\s|au\s|aux\s|plus\b))")
# Words that, before a mention, put the speaker against it.
_AGAINST = _rx(
    r"contre", r"refus\w*", r"rejet\w*", r"rejett\w*", r"oppos\w*", r"hostile\w*",
    r"interdi\w*", r"empech\w*", r"evit\w*", r"renonc\w*", r"abandonn\w*", r"deleg\w*",
    r"ceder", r"cede", r"cedons", r"combat\w*", r"arreter de", r"arretons de", r"cesser de",
    r"cessons de", r"en finir avec", r"halte a", r"hors de question", r"plutot que",
    r"plutot qu", r"au lieu de", r"au lieu d", r"loin de", r"remplac\w*", r"nier", r"nie",
    r"nions", r"nient", r"contest\w*", r"crain\w*", r"craign\w*", r"peur de", r"peur d",
    r"doute que", r"doute qu", r"mettre fin a",
)
# "pas question" is a negation (pas) followed by "question": no extra cue needed.

# Evaluative lexicon (stems over folded text).
_NEGATIVE = _rx(
    r"erreur\w*", r"faute\w*", r"danger\w*", r"risque\w*", r"catastroph\w*", r"aberr\w*",
    r"absurd\w*", r"folie\w*", r"suicid\w*", r"irrespons\w*", r"inaccept\w*", r"illusion\w*",
    r"insult\w*", r"mepris\w*", r"mepriser", r"injust\w*", r"naif", r"naive\w*", r"piege\w*",
    r"impasse\w*", r"derive\w*", r"impunite\w*", r"legalis\w*", r"nourri\w*", r"aliment\w*",
    r"multipli\w*", r"menace\w*", r"probleme\w*", r"chaos", r"guerre\w*", r"vengeance\w*",
    r"represaill\w*", r"abus", r"bavure\w*", r"exaction\w*", r"crime\w*", r"criminel\w*",
    r"victime\w*", r"cible\w*", r"excuse\w*", r"pire\w*", r"echec\w*", r"echou\w*",
    r"inutile\w*", r"inefficac\w*", r"contre-productif\w*", r"accus\w*", r"stigmatis\w*",
    r"humili\w*", r"sacrifi\w*", r"tuer", r"tue", r"tuent", r"clientel\w*", r"favoritisme",
    r"politis\w*", r"electoral\w*", r"partisan\w*", r"pression\w*", r"peur", r"crain\w*",
    r"inquiet\w*", r"deplor\w*", r"grave\w*", r"scandal\w*", r"honte\w*", r"mauvais\w*",
    r"faux", r"fausse\w*", r"mensonge\w*", r"le contraire", r"l'inverse", r"autre chose",
    r"se trompe\w*", r"cher", r"chere", r"couteu\w*", r"transform\w*", r"impossible\w*",
    r"plain\w*", r"plaign\w*", r"abandonne\w*", r"perdre", r"perte\w*",
    r"ne sert a rien", r"n'importe quoi", r"deraisonnable\w*", r"blanchir", r"legitimer",
    r"recompens\w*", r"insecurite\w*", r"violence\w*", r"tension\w*", r"conflit\w*",
    r"complice\w*", r"corrompu\w*", r"arbitraire\w*", r"colere\w*", r"mefian\w*",
    r"bandit\w*", r"voleur\w*", r"terroris\w*", r"jihadist\w*", r"djihadist\w*", r"livr\w*",
    r"(?:a|ont|nous a|vous a) (?:mene|menes|conduit|conduits|provoque|cause)\w*",
    r"arret de mort", r"fiasco\w*", r"desastre\w*", r"ne tient pas debout", r"aucun sens",
    r"ne resout rien", r"ne regle rien",
)
_NEG_PREDICATE = _rx(
    r"erreur\w*", r"faute\w*", r"dangereu\w*", r"danger", r"risque\w*", r"catastroph\w*",
    r"aberr\w*", r"absurd\w*", r"folie", r"suicidaire\w*", r"irresponsable\w*",
    r"inacceptable\w*", r"illusion\w*", r"injuste\w*", r"naif", r"naive", r"piege",
    r"impasse", r"inutile\w*", r"inefficace\w*", r"contre-productif\w*", r"mauvais\w*",
    r"impossible\w*", r"grave", r"honte\w*", r"scandal\w*", r"insense\w*", r"deraisonnable",
)
_POSITIVE = _rx(
    r"indispensable\w*", r"necessaire\w*", r"essentiel\w*", r"urgent\w*", r"vital\w*",
    r"priorit\w*", r"meilleur\w*", r"mieux", r"bonne solution", r"bonne idee", r"bonne chose",
    r"solution\w*", r"logique\w*", r"c'est juste", r"est juste", r"normal", r"normale",
    r"legitime\w*", r"garanti\w*", r"efficac\w*", r"intelligent\w*", r"utile\w*", r"sage\w*",
    r"raisonnabl\w*", r"pertinent\w*", r"avantage\w*", r"benefi\w*", r"la reponse",
    r"la voie", r"seule voie", r"seule reponse", r"seule option", r"pas d'autre",
    r"il le faut", r"s'impose\w*", r"au moins", r"au minimum", r"favorable\w*",
    r"proteg\w*", r"protection", r"renforc\w*", r"apais\w*", r"la paix", r"confiance",
    r"reussi\w*", r"marche", r"marchent", r"fonctionn\w*", r"equit\w*", r"associ\w*",
    r"soutien\w*", r"soutenir", r"progres\w*", r"ameliore\w*", r"reduire", r"reduit\w*",
    r"desengorg\w*", r"gagn\w*", r"securise\w*", r"transparen\w*", r"juste",
)
# Deontic or first-person stance markers (raise the confidence of a direct reading).
_MODAL = _rx(
    r"il faut", r"il faudra", r"il faudrait", r"faut", r"doit", r"doivent", r"devra",
    r"devrait", r"devraient", r"je suis pour", r"nous sommes pour", r"je soutiens",
    r"nous soutenons", r"je propose", r"nous proposons", r"je demande", r"nous demandons",
    r"je prefere", r"nous preferons", r"favorable\w*", r"je plaide", r"nous voulons",
    r"je veux", r"je recommande", r"nous recommandons", r"je pense qu", r"je pense que",
    r"je crois qu", r"je crois que", r"je maintiens", r"revient a", r"revient au",
    r"la reponse", r"la solution", r"indispensable", r"necessaire", r"reclame\w*",
    r"je suis d'accord", r"c'est (?:au|a la|a) (?:lui|elle|eux)", r"reste au", r"reste a",
    r"doit rester", r"il est temps",
)

# Hedging (réservé).
_HEDGE = _rx(
    r"pas d'avis(?: tranche| arrete| definitif)?", r"pas encore d'avis", r"pas (?:encore )?"
    r"de position", r"ne sais pas (?:encore )?(?:quoi en penser|si|trop)",
    r"ne saurais (?:pas )?dire", r"ne peux pas (?:trancher|repondre|me prononcer)",
    r"ne peut pas trancher", r"je n'en sais rien", r"ca depend", r"cela depend",
    r"tout depend", r"(?:faut|faudrait|faudra|doit|devons) (?:bien )?etudier", r"a etudier",
    r"merite\w* (?:une |un |la |le )?(?:vraie |serieuse |profonde )?"
    r"(?:reflexion|etude|debat|examen)", r"je suis partage\w*", r"je reste partage\w*",
    r"nous sommes partage\w*", r"je m'interroge\w*", r"nous nous interrogeons", r"j'hesite",
    r"nous hesitons", r"il faudrait voir", r"on verra", r"attendons", r"avant de trancher",
    r"avant de decider", r"avant de se prononcer", r"avant de nous prononcer",
    r"question complexe", r"ni pour ni contre", r"peut etre depasse\w*", r"difficile de trancher",
    r"je reserve ma position", r"il faudrait une enquete", r"il faut une etude",
    r"les chiffres manquent", r"pas de chiffres", r"je ne me prononce pas",
    r"sans avis", r"je n'ai pas d'opinion", r"pas d'opinion",
    r"pas de reponse(?: toute faite| definitive| tranchee)?", r"pas assez de recul",
    r"(?:prefere|preferons|vaut mieux|faut|faudrait) (?:d'abord )?attendre",
    r"(?:voudrais|voudrions|veux|faut|faudrait) d'abord (?:connaitre|savoir|voir|evaluer|"
    r"etudier|mesurer)",
    r"je (?:laisse|laisserai|laissons) (?:\w+ )?(?:\w+ )?(?:en juger|decider|trancher|"
    r"se prononcer)",
)
_NOT_HEDGE = _rx(r"n'hesite pas", r"n'hesitons pas", r"sans hesiter", r"sans hesitation",
                 r"aucune hesitation", r"pas d'hesitation")

# Irony.
_IRONY_OPENER = re.compile(
    r"^\W*(?:(?:ah|eh|mais) oui|oui,? oui|bien sur|evidemment|c'est ca|genial|formidable"
    r"(?: idee)?|magnifique|excellent\w*|bravo|super|parfait|quelle (?:bonne|belle|brillante)"
    r"(?: idee)?|(?:tres )?bonne idee|belle idee|brillant\w*|fantastique|merveilleux)"
    r"\s*(?:[,!]|\.\.\.)")
_IRONY_ESCALATION = _rx(r"tant qu'on y est", r"pendant qu'on y est", r"et pourquoi pas",
                        r"ils vont adorer", r"on va rire", r"quelle blague", r"vous plaisantez",
                        r"et puis quoi encore")
_IMPERATIVE_1PL = re.compile(
    r"(?:^|[,;:!?.]\s*|(?<![a-z])et\s+|\"\s*)([a-z]{2,}ons)(?:-(?:les|leur|lui|la|le|nous|y|en))?"
    r"(?![a-z])")
_NOT_IMPERATIVE = {"nous", "avons", "allons", "sommes", "bons", "raisons", "maisons", "questions",
                   "options", "sanctions", "elections", "actions", "regions", "fonctions",
                   "missions", "solutions", "positions", "conditions", "millions", "garcons",
                   "pions", "lecons", "communications", "informations", "propositions",
                   "patrouillons", "dons", "tons"}
_ECHO_QUANT = _rx("tellement", "si", "a chaque", "partout", "tous", "toutes", "chaque",
                  "toujours", "vraiment")

# Reported speech.
_REPORT_VERB = _rx(
    r"dit", r"disent", r"dites", r"pense", r"pensent", r"affirme", r"affirment", r"pretend\w*",
    r"soutient", r"soutiennent", r"reclame", r"reclament", r"propose", r"proposent", r"veut",
    r"veulent", r"recommande", r"recommandent", r"prevoit", r"prevoient", r"estime",
    r"estiment", r"croit", r"croient", r"explique", r"expliquent", r"annonce", r"annoncent",
    r"repete", r"repetent", r"defend", r"defendent", r"defendu", r"plaide", r"plaident",
    r"demande", r"demandent", r"souhaite", r"souhaitent", r"exige", r"exigent", r"parle",
    r"parlent", r"suggere", r"suggerent", r"assure", r"assurent", r"raconte", r"racontent",
    r"martele\w*", r"preconis\w*", r"reclame", r"voudrait", r"voudraient",
)
_FIRST_PERSON = {"je", "j", "nous", "moi", "me", "m"}
_REPORT_FRAME = _rx(
    r"on nous (?:dit|repete|demande|explique|raconte|propose|annonce|assure)",
    r"on vient nous (?:dire|demander|expliquer)", r"on (?:dit|raconte|entend|pretend|repete)",
    r"on entend dire", r"j'entends (?:dire|parler|que|qu)", r"quand j'entends", r"j'ai entendu",
    r"selon(?! moi| nous| vous)", r"d'apres(?! moi| nous| vous)", r"parait-il", r"il parait",
    r"d'aucuns", r"decrit\w* comme", r"presente\w* comme", r"qualifie\w* de", r"percu\w* comme",
    r"certains (?:disent|pensent|veulent|affirment|pretendent|estiment|croient|"
    r"proposent|reclament|demandent|parlent)", r"a-t-il dit", r"a-t-elle dit",
)
_SUMMARY = _rx(r"desaccord\w*", r"compromis", r"position majoritaire", r"je resume",
               r"pour resumer", r"en resume", r"pour certains", r"pour d'autres",
               r"pour les uns", r"pour les autres", r"les uns", r"d'autres",
               r"plusieurs participants", r"certains participants", r"trois positions",
               r"deux positions", r"trois options", r"deux options", r"je note",
               r"les messages", r"trois desaccords", r"deux desaccords",
               r"le debat porte", r"la question (?:de|des|du)")
_ENDORSE_FRAME = _rx(r"comme l'a (?:dit|rappele|souligne|explique|montre|bien dit)",
                     r"comme l'ont (?:dit|rappele|souligne|explique|montre)",
                     r"comme (?:le )?disait", r"je rejoins", r"je partage l'avis",
                     r"comme (?:le|la) \w+ l'a (?:dit|rappele|souligne)")
_REJECT = _rx(
    r"c'est faux", r"c'est inexact", r"c'est un mensonge", r"c'est une illusion",
    r"ce n'est pas vrai", r"pas du tout", r"absolument pas", r"se trompe\w*",
    r"(?:ne )?(?:suis|sommes) pas d'accord", r"pas d'accord", r"ne partage pas",
    r"n'y crois pas", r"n'en crois rien", r"je conteste", r"nous contestons", r"je dis non",
    r"c'est non", r"le contraire", r"l'inverse", r"autre chose", r"je refuse",
    r"nous refusons", r"je m'y oppose", r"n'importe quoi", r"pas de cet avis", r"je le conteste",
    r"ce n'est pas le cas", r"c'est une erreur", r"ils ont tort", r"il a tort", r"elle a tort",
    r"elles ont tort", r"je dis non", r"non merci",
)
_ENDORSE = _rx(
    r"ils? ont raison", r"elles? ont raison", r"a raison", r"je suis d'accord",
    r"nous sommes d'accord", r"je partage", r"nous partageons", r"je les crois",
    r"je le crois", r"je la crois", r"je me range", r"nous nous rangeons", r"je rejoins",
    r"c'est juste", r"c'est vrai", r"c'est exact", r"je soutiens", r"nous soutenons",
    r"il faut (?:la |le |les |cette |ce )?(?:garder|suivre|maintenir|conserver|appliquer)",
    r"j'approuve", r"je l'approuve", r"tout a fait", r"je souscris", r"bien dit",
)

# Questions.
_Q_SUPPORT = _rx(
    r"pourquoi ne pas", r"pourquoi pas", r"n'est-ce pas", r"n'est-il pas", r"n'est-elle pas",
    r"ne faut-il pas", r"ne serait-il pas", r"ne serait-ce pas", r"ne vaudrait-il pas",
    r"ne devrait-on pas", r"ne peut-on pas", r"ne doit-on pas", r"qui d'autre que",
    r"qui d'autre qu", r"qui mieux que", r"qui mieux qu", r"quoi de mieux", r"quoi de plus",
    r"qui (?:connait|sait|peut|comprend|represente) mieux", r"mieux que",
)
_Q_AGAINST_STRONG = _rx(r"vraiment", r"serieusement", r"serieux", r"serieuse",
                        r"et apres", r"et ensuite", r"et alors", r"qui peut croire",
                        r"on croit", r"vous croyez", r"tu crois", r"depuis quand")
_Q_INFO = _rx(
    r"que pensez-vous", r"qu'en pensez-vous", r"en pensez quoi", r"quel(?:le)? est votre",
    r"a votre avis", r"selon vous", r"votre avis", r"votre position", r"la question posee",
    r"la question est", r"la question qui se pose", r"faut-il", r"doit-on", r"doit-il",
    r"doit-elle", r"doivent-ils", r"doivent-elles", r"peut-on", r"est-ce qu'il faut",
    r"etes-vous", r"sommes-nous", r"pensez-vous", r"qu'est-ce que vous", r"je vous pose",
    r"une question",
)
_Q_AGAINST = _rx(
    r"qui", r"comment", r"avec quel\w*", r"avec quoi", r"a quoi", r"ou", r"combien",
    r"pourquoi", r"quel\w*", r"quoi",
)
_Q_SINON = _rx("sinon", "autrement")

# Concession.
_CONCEDE = _rx(
    r"certes", r"bien sur", r"il est vrai", r"c'est vrai", r"je comprends", r"on comprend",
    r"nous comprenons", r"je peux comprendre", r"on peut comprendre", r"j'entends",
    r"je respecte", r"nous respectons", r"je reconnais", r"nous reconnaissons",
    r"je ne nie pas", r"je ne conteste pas", r"je l'admets", r"j'admets", r"je le sais",
    r"je sais", r"d'accord", r"admettons", r"on peut toujours dire", r"on pourrait",
    r"evidemment", r"je veux bien", r"pourquoi pas", r"oui", r"soit", r"j'en conviens",
    r"a ses avantages", r"personne ne le nie", r"sur le papier",
)
_CONCEDE_SUB = _rx(r"meme si", r"meme s'", r"(?<!veux )(?<!voudrais )(?<!voulons )(?<!aime )"
                   r"(?<!aimerais )bien que", r"(?<!veux )(?<!voudrais )(?<!voulons )(?<!aime )"
                   r"(?<!aimerais )bien qu", r"quoique", r"quoiqu",
                   r"malgre", r"en depit de", r"s'il est vrai que")
_B_CONDITIONAL = re.compile(
    r"^\W*(?:mais|pourtant|cependant|toutefois)\s+(?:seulement|uniquement|pas avant|a condition|"
    r"alors|avec|en lien|sous|dans le cadre|a la condition|pourvu|si\b|apres|encadre)")

# Conditions.
_PROTASIS = re.compile(
    r"(?<![a-z])(?:(?<!meme )(?<!comme )(?<!sauf )si(?=\s+(?:on|l'|l|le|la|les|un|une|des|c'|"
    r"ce|cela|ca|nous|vous|tu|j'|je|il|ils|elle|elles|chaque|tout|tous|personne|rien|notre|nos|"
    r"votre|vos|leur|leurs|demain|aujourd|jamais|vraiment|quelqu|aucun|d'ici)\b)|s'ils?(?![a-z])|"
    r"(?<!en )tant que|(?<!en )tant qu'|a condition que|a condition qu'|a condition de|"
    r"a condition d'|"
    r"pourvu que|pourvu qu'|sous reserve que|sous reserve qu'|au cas ou|dans le cas ou|"
    r"des lors que|des lors qu'|a moins que|a moins qu'|le jour ou|le jour qu|pour peu que|"
    r"pour peu qu'|des que|des qu'|une fois que|une fois qu')")
_COUNTERFACTUAL_P = _rx(r"etait", r"etaient", r"avait", r"avaient", r"existait", r"existaient",
                        r"y avait")
_COUNTERFACTUAL_A = re.compile(r"(?<![a-z])[a-z]+(?:rait|raient|rions|riez)(?![a-z])")
_AT_LEAST = _rx(r"au moins", r"au minimum", r"du moins", r"en tout cas", r"a tout le moins")
_PROTASIS_GOOD = _rx(r"bien", r"correctement", r"serieusement", r"vraiment", r"reellement")
_SUBORDINATOR = _rx("qui", "que", "qu", "dont", "ou", "lequel", "laquelle", "lesquels",
                    "lesquelles", "quand", "lorsque", "lorsqu", "si", "tant", "parce", "car",
                    "puisque", "comme")
_COPULA_PIVOT = re.compile(
    r"^\W*(?:et\s+)?(?:c'est|c'etait|ce serait|ce sera|ca serait|ca sera|ca revient a|"
    r"cela revient a|cela serait|cela sera|ca,\s*c'est|ce sont|ce seraient|voila)(?![a-z])")
_STANDALONE_AGAINST = re.compile(
    r"^\W*(?:non|jamais|surtout pas|certainement pas|absolument pas|pas question|"
    r"hors de question|niet|je dis non|c'est non|pas d'accord)\W*$")
_STANDALONE_FOR = re.compile(
    r"^\W*(?:oui|d'accord|pourquoi pas|bien sur|absolument|volontiers|evidemment|tout a fait|"
    r"je suis pour|ok)\W*$")
_SUBJECT_LIKE_MAX = 6
_ASIDE_START = {"dans", "sans", "avec", "pour", "en", "selon", "a", "au", "aux", "sur", "sous",
                "depuis", "apres", "avant", "meme", "surtout", "aujourd", "demain", "ici", "la",
                "maintenant", "actuellement", "point", "comme", "d", "de", "du", "des", "chez",
                "par", "vu", "certes", "helas", "franchement", "evidemment", "bien"}
_VERB_START = {"ne", "n", "est", "sont", "serait", "seraient", "sera", "seront", "reste",
               "restera", "demeure", "constitue", "represente", "semble", "parait", "devient",
               "deviendrait", "a", "ont", "aurait", "auraient", "coute", "marche", "sert",
               "servirait", "fait", "ferait", "fera", "va", "vont", "peut", "pourrait"}
_FINITE = re.compile(r"[a-z]+(?:erait|eraient|era|eront|ait|aient|ira|iront|irait)$")
# words showing that a finite verb (and its subject) come before a mention in its clause
_VERB_MARKERS = {"je", "j", "nous", "on", "il", "ils", "elle", "elles", "vous", "tu", "c", "est",
                 "sont", "ont", "faut", "doit", "doivent", "peut", "peuvent", "veut", "veulent",
                 "va", "vont", "sera", "serait", "y", "suis", "sommes", "avons", "dois", "veux",
                 "voulons", "pense", "crois", "propose", "demande", "faudrait", "faudra"}


# --------------------------------------------------------------------------- data classes
@dataclass
class _Mention:
    code: str
    start: int
    end: int
    located: bool = True


@dataclass
class _Vote:
    code: str
    polarity: int  # +1 support, -1 against, 0 no stance
    form: str
    path: str
    cue: str
    factor: float = 1.0
    weight: float = 1.0  # salience of the mention (after "mais": more)

    @property
    def confidence(self) -> float:
        return _PATH_CONFIDENCE.get(self.path, 0.5) * self.factor


@dataclass
class _Cues:
    against: list[re.Pattern] = field(default_factory=list)
    negative: list[re.Pattern] = field(default_factory=list)
    positive: list[re.Pattern] = field(default_factory=list)
    hedges: list[re.Pattern] = field(default_factory=list)
    reporting: list[re.Pattern] = field(default_factory=list)


def _stem(lemma: str) -> str:
    """Turn a cue lemma into a prefix pattern (``refuser`` matches « refusons »)."""
    w = fold_text(lemma).strip()
    if not w or not re.fullmatch(r"[a-z' -]+", w):
        return re.escape(w)
    if " " in w or "'" in w:
        return re.escape(w)
    for suffix in ("er", "ir", "re"):
        if w.endswith(suffix) and len(w) > 5:
            return re.escape(w[: -len(suffix)]) + r"\w*"
    return re.escape(w) + (r"\w*" if len(w) >= 5 else "")


def _compile_cues(cues: Mapping | None) -> _Cues:
    out = _Cues()
    if not cues:
        return out

    def pats(key: str) -> list[re.Pattern]:
        vals = cues.get(key) or []
        if isinstance(vals, str):
            vals = [vals]
        stems = [_stem(str(v)) for v in vals if str(v).strip() and str(v).strip() != "question"]
        return [_rx(*stems)] if stems else []

    out.against = pats("against_before") + pats("against")
    out.negative = pats("against_after") + pats("negative")
    out.positive = pats("positive")
    out.hedges = pats("hedges")
    out.reporting = pats("reporting")
    return out


# --------------------------------------------------------------------------- analysis
class _Text:
    """A segment's text, folded, with its sentences and clauses."""

    def __init__(self, text: str):
        self.text = str(text or "")
        self.f = fold_text(self.text)
        n = len(self.f)
        ends = [m.end() for m in _SENT_END.finditer(self.f)]
        starts = [0] + [e for e in ends if e < n]
        self.sentences = [(s, e) for s, e in zip(starts, ends + [n], strict=False) if s < e]
        if not self.sentences:
            self.sentences = [(0, n)]
        cuts = {0, n}
        for m in _PUNCT.finditer(self.f):
            cuts.add(m.start())
            cuts.add(m.end())
        for m in _CONNECTIVE.finditer(self.f):
            cuts.add(m.start())
        for s, _e in self.sentences:
            cuts.add(s)
        self.cuts = sorted(cuts)

    def sentence(self, pos: int) -> tuple[int, int]:
        for s, e in self.sentences:
            if s <= pos < e:
                return s, e
        return self.sentences[-1]

    def clause(self, pos: int) -> tuple[int, int]:
        lo = max([c for c in self.cuts if c <= pos], default=0)
        hi = min([c for c in self.cuts if c > pos], default=len(self.f))
        return lo, hi

    def is_question(self, pos: int) -> bool:
        s, e = self.sentence(pos)
        return self.f[s:e].rstrip(' "').endswith("?")


def _open_quote(text: str) -> int | None:
    """Position of a quotation opened and not closed in ``text`` (-1: before it), or None."""
    depth, start = 0, None
    straight = []
    for i, ch in enumerate(text):
        if ch in "«“":
            depth += 1
            start = i if depth == 1 else start
        elif ch in "»”" and depth:
            depth -= 1
        elif ch == '"':
            straight.append(i)
    if depth:
        return start
    if len(straight) % 2:
        return straight[-1]
    return None


def _locate(t: _Text, matched: str) -> list[tuple[int, int]]:
    """Character spans of a matched text (several joined with " | ") in the segment."""
    spans = []
    for part in [p.strip() for p in str(matched or "").split(" | ") if p.strip()]:
        fp = fold_text(part)
        fp_re = r"\s+".join(re.escape(w) for w in fp.split())
        hits = [(m.start(), m.end()) for m in re.finditer(fp_re, t.f)] if fp_re else []
        if not hits:  # fall back on the longest word of the matched text
            words = sorted(_TOKEN.findall(fp), key=len, reverse=True)
            for w in words:
                if len(w) >= 4:
                    m = re.search(r"(?<![a-z])" + re.escape(w[: max(4, len(w) - 2)]), t.f)
                    if m:
                        hits = [(m.start(), m.end())]
                        break
        spans.extend(hits[:1] if len(hits) > 1 and len(fp) < 6 else hits)
    return spans


def _negations(f: str, a: int, b: int, inside: tuple[int, int] | None = None) -> list[tuple]:
    """Negation events (start, end, word) in f[a:b]; 'sans'/'non' inside ``inside`` ignored."""
    seg = f[a:b]
    blocked = [(m.start(), m.end()) for m in _NOT_NEG.finditer(seg)]
    out = []
    for m in _NEG.finditer(seg):
        if any(s <= m.start() < e for s, e in blocked):
            continue
        out.append((a + m.start(), a + m.end(), m.group()))
    for m in _NEG_AFTER_NE.finditer(seg):
        before = seg[max(0, m.start() - 25):m.start()]
        if re.search(r"(?<![a-z])(?:ne|n')(?:\s|[a-z])", before) and not re.search(
                r"(?<![a-z])(?:pas|jamais|rien)(?![a-z])", before):
            out.append((a + m.start(), a + m.end(), m.group()))
    for m in _NON.finditer(seg):
        out.append((a + m.start(), a + m.end(), "non"))
    for m in _NEG_BEFORE_NE.finditer(seg):
        if not any(o[0] == a + m.start() for o in out):
            out.append((a + m.start(), a + m.end(), m.group()))
    if inside is not None:
        out = [o for o in out if not (inside[0] <= o[0] < inside[1] and o[2] in ("sans", "non"))]
    # "ni ... ni" counts once
    seen_ni, dedup = False, []
    for o in sorted(out):
        if o[2] == "ni":
            if seen_ni:
                continue
            seen_ni = True
        dedup.append(o)
    return dedup


def _find_all(patterns: Sequence[re.Pattern], s: str, offset: int = 0) -> list[tuple]:
    out = []
    for p in patterns:
        out.extend((offset + m.start(), offset + m.end(), m.group()) for m in p.finditer(s))
    return sorted(out)


def _polarity(f: str, a: int, b: int, cues: _Cues, negation_default: bool = True
              ) -> tuple[int, str]:
    """Return the evaluative polarity of f[a:b]: lexicon hits, flipped by a prior negation.

    A negated clause without evaluative words counts as negative when ``negation_default``.
    """
    seg = f[a:b]
    if not seg.strip():
        return 0, ""
    score, cue_words = 0.0, []
    negs = _negations(f, a, b)
    hits = [(s, e, w, -1) for s, e, w in _find_all([_NEGATIVE, *cues.negative], seg, a)]
    hits += [(s, e, w, +1) for s, e, w in _find_all([_POSITIVE, *cues.positive], seg, a)]
    # the longest hit wins where hits overlap ("pas d'autre" over "autre chose")
    hits.sort(key=lambda h: (h[0], -(h[1] - h[0])))
    kept, last_end = [], -1
    for h in hits:
        if h[0] >= last_end:
            kept.append(h)
            last_end = h[1]
    for s, _e, w, sign in kept:
        if w.startswith("pas d'autre"):
            score += 1
            cue_words.append(w)
            continue
        flipped = any(ns < s and s - ns <= 30 and _e2 <= s for ns, _e2, _w in negs) or (
            bool(re.search(r"(?<![a-z])(?:ne|n')\s*$", f[max(a, s - 4):s]))
            and any(0 <= ns - _e <= 12 for ns, _e2, _w in negs))
        score += -sign if flipped else sign
        cue_words.append(("pas " if flipped else "") + w)
    if score == 0 and negs and negation_default and not kept:
        return -1, negs[0][2]
    if score == 0:
        return 0, ""
    return (1 if score > 0 else -1), ", ".join(cue_words[:3])


def _challenge_question(f: str, a: int, b: int) -> tuple[int, str]:
    """Polarity of a question f[a:b] towards what it follows: -1 challenge, +1 support, 0."""
    q = f[a:b]
    if not q.rstrip(' "').endswith("?"):
        return 0, ""
    if m := _Q_SUPPORT.search(q):
        return 1, m.group()
    if _Q_SINON.search(q):
        return 1, "sinon"
    if m := _Q_AGAINST_STRONG.search(q):
        return -1, m.group()
    if _Q_INFO.search(q):
        return 0, ""
    if m := _Q_AGAINST.search(q):
        return -1, m.group()
    return 0, ""


class _Analyser:
    """Stance votes for the mentions of one question in one segment."""

    def __init__(self, text: str, prev_text: str, next_text: str, cues: _Cues):
        self.t = _Text(text)
        self.prev = _Text(prev_text) if prev_text else None
        self.next = _Text(next_text) if next_text else None
        self.cues = cues
        self.quote_start = -1

    # ---- segment-level
    def hedge(self, mentions: list[_Mention]) -> str:
        f = self.t.f
        if _NOT_HEDGE.search(f):
            return ""
        hits = _find_all([_HEDGE, *self.cues.hedges], f)
        if not hits and self.next is not None and self.t.is_question(len(f) - 1):
            nf = self.next.f
            hits2 = _find_all([_HEDGE, *self.cues.hedges], nf)
            if hits2 and not _NOT_HEDGE.search(nf):
                return hits2[0][2]
        if not hits:
            return ""
        h = hits[0]
        # a clear stance after a "mais" following the hedge wins
        for p in _PIVOT.finditer(f, h[1]):
            after = f[p.end():]
            if any(m.start > p.start() for m in mentions) or _MODAL.search(after) or re.search(
                    r"(?<![a-z])(?:pour|contre|favorable|oppose)(?![a-z])", after):
                return ""
        return h[2]

    def irony(self, m: _Mention) -> str:
        f = self.t.f
        s, e = self.t.sentence(m.start)
        sent = f[s:e]
        opener = _IRONY_OPENER.search(sent)
        imperative = [g for g in _IMPERATIVE_1PL.finditer(sent)
                      if g.group(1) not in _NOT_IMPERATIVE]
        escal = _IRONY_ESCALATION.search(sent)
        echo = ""
        words = [w for w in _TOKEN.findall(f[m.start:m.end]) if len(w) >= 5]
        rest = f[m.end:e]
        for w in words:
            k = re.search(r"(?<![a-z])" + re.escape(w[:5]), rest)
            if k:
                around = rest[max(0, k.start() - 25):k.end() + 25]
                if _ECHO_QUANT.search(around):
                    echo = w
                    break
        really = re.search(r"(?<![a-z])(?:vraiment|serieusement)\s*\?", sent)
        if opener and _PIVOT.search(sent, opener.end()):
            opener = None  # "bien sûr, X prendra du temps, mais …" is a concession
        if opener and (imperative or escal or echo or re.search(r"comme ca", sent)
                       or _polarity(f, s + opener.end(), e, self.cues, False)[0] < 0):
            return opener.group().strip(" ,!.")
        if escal and (imperative or m.start < escal.start()):
            return escal.group()
        comme = re.search(r"(?<![a-z])comme ca(?![a-z])", sent)
        if imperative and comme and _polarity(f, s + comme.end(), e, self.cues, False)[0] < 0:
            return f"{imperative[0].group(1)} … comme ça"
        aside = re.search(r",\s*(?:bien sur|evidemment|naturellement|c'est ca|mais oui)\s*,\s*"
                          r"(?:et|comme ca)(?![a-z])", sent)
        if aside and s + aside.start() >= m.start:
            return aside.group().strip(" ,")
        if echo:
            return f"écho « {echo} »"
        if really and m.start < s + really.start():
            return really.group().strip(" ?")
        return ""

    # ---- per mention
    def local(self, m: _Mention, mentions: list[_Mention]) -> tuple[int, list[str], str, int]:
        """Polarity from negations and against cues before the mention (and a short 'non').

        Returns (polarity, cue words, 'pre' | 'post' | '', position of the first cue).
        """
        f = self.t.f
        c0, _c1 = self.t.clause(m.start)
        lo = c0
        for o in mentions:  # a cue applies to the nearest following mention only
            if o is not m and o.end <= m.start and o.end > lo:
                lo = o.end
        window = f[lo:m.start]
        found = [(s_, w) for s_, _e, w in _negations(f, lo, m.start)]
        found += [(s_, w) for s_, _e, w in _find_all([_AGAINST, *self.cues.against], window, lo)]
        # "je préfère X à Y": Y is the option set aside
        if lo > c0 and re.fullmatch(r"\W*(?:a|au|aux|a la|a l')\W*", window + " ") and \
                re.search(r"(?<![a-z])(?:prefer|privilegi)\w*", f[c0:lo]):
            found.append((lo, "préférer … à"))
        first = min([s_ for s_, _w in found], default=len(f))
        events = [w for _s, w in sorted(found)]
        # pre-mention negative judgement ("il serait dangereux d'intégrer")
        for _s, e_, w in _find_all([_NEG_PREDICATE, *self.cues.negative], window, lo):
            if re.match(r"^\s*(?:[a-z]+\s+)?(?:de|d'|que|qu'|a)(?:\s|$)", f[e_:m.start] + " ") \
                    or e_ >= m.start - 1:
                events.append(w)
                first = min(first, _s)
        # a verbal negation between the words of a long match ("X ne doit en aucun cas Y")
        for x in _NEG_MODAL.finditer(f, m.start, m.end):
            if x.start() > m.start:
                events.append(x.group())
                first = min(first, x.start())
        kind = "pre" if events else ""
        pol = -1 if len(events) % 2 else 1
        # "X, non." / "X, jamais" right after the mention
        _m0, m1 = self.t.clause(max(m.end - 1, m.start))
        nxt = self.t.clause(m1 + 1) if m1 + 1 < len(f) else None
        if nxt:
            tail = f[nxt[0]:nxt[1]]
            if _STANDALONE_AGAINST.match(tail) or _STANDALONE_AGAINST.match(
                    f[m1:nxt[1]].strip(" ,")):
                events.append(tail.strip(" ,.;"))
                pol, kind = -pol, "post"
        rest = f[m.end:self.t.sentence(m.start)[1]]
        if re.search(r"(?<![a-z])(?:je dis non|c'est non|je dis : non)(?![a-z])", rest):
            events.append("je dis non")
            pol, kind = -pol, "post"
        return pol, events, kind, first

    def predicate(self, m: _Mention) -> tuple[int, str]:
        """Return how the mention is judged as a subject ('X serait une erreur', 'X, c'est …')."""
        f = self.t.f
        s, e = self.t.sentence(m.start)
        c0, c1 = self.t.clause(m.start)
        before = _TOKEN.findall(f[c0:m.start])
        subject_like = not (set(before) & _VERB_MARKERS) and len(before) <= _SUBJECT_LIKE_MAX
        # "X, c'est …": the next clause(s) after the mention's clause
        k = m.end
        while k < e:
            cl = self.t.clause(k)
            if cl[0] >= m.end and _COPULA_PIVOT.match(f[cl[0]:e]):
                end = e
                p = _PIVOT.search(f, cl[0] + 1, e)
                if p:
                    end = p.start()
                pol, cue = _polarity(f, cl[0], end, self.cues, negation_default=True)
                if f[cl[0]:end].lstrip(" ,").startswith(("ce n", "c'est pas")):
                    return -1, "ce n'est pas"
                return pol, cue
            if cl[1] <= k:
                break
            k = cl[1] + 1
            if _PUNCT.match(f, cl[1]) and f[cl[1]] in ".;:!?":
                break
        if not subject_like:
            return 0, ""
        # "X est/serait …" in the same sentence, before any subordinate clause or pivot
        end = e
        p = _PIVOT.search(f, m.end, e)
        if p:
            end = p.start()
        start = m.end
        if not _TOKEN.search(f[m.end:c1]):
            # the mention ends its clause: skip asides ("X, dans la situation actuelle, serait …");
            # what follows must start with a verb to be its predicate
            k = c1
            while k < end:
                nc0, nc1 = self.t.clause(k + 1 if _PUNCT.match(f, k) else k)
                words = _TOKEN.findall(f[nc0:nc1])
                if not words or nc1 <= k:
                    break
                if words[0] in _ASIDE_START:
                    k = nc1
                    continue
                if words[0] in _VERB_START or _FINITE.match(words[0]):
                    start = nc0
                break
            if start == m.end:
                return 0, ""
        sub = _SUBORDINATOR.search(f, start, end)
        if sub and sub.start() - m.end < 3:  # relative clause right after the mention
            return 0, ""
        span_end = sub.start() if sub and sub.start() > start else end
        if span_end - start < 3:
            return 0, ""
        return _polarity(f, start, span_end, self.cues, negation_default=True)

    def protasis(self, pos: int) -> tuple[int, int, int, int] | None:
        """(p0, p1, a0, a1): the 'si' clause containing pos and its main clause, or None."""
        f = self.t.f
        s, e = self.t.sentence(pos)
        for mm in _PROTASIS.finditer(f, s, e):
            p0 = mm.start()
            stop = re.search(r"[,;:]|(?<![a-z])alors(?![a-z])", f[mm.end():e])
            p1 = mm.end() + stop.start() if stop else e
            if p0 <= pos < p1:
                if p0 > s + 2 and not re.match(r"^\W*(?:mais|et|alors|donc|or)?\W*$",
                                               f[s:p0]):
                    # postposed: "A, si B" — the main clause is before
                    return p0, p1, s, p0
                return p0, p1, p1, e
        return None

    def condition_elsewhere(self, m: _Mention) -> str:
        f = self.t.f
        s, e = self.t.sentence(m.start)
        for mm in _PROTASIS.finditer(f, s, e):
            stop = re.search(r"[,;:]", f[mm.end():e])
            p1 = mm.end() + stop.start() if stop else e
            if not (mm.start() <= m.start < p1):
                return mm.group()
        return ""

    def reported(self, m: _Mention) -> tuple[str, str]:
        """('frame' | 'summary' | 'quote' | 'endorse', cue) when the mention is reported."""
        f = self.t.f
        s, e = self.t.sentence(m.start)
        sent_lo = s
        # scope of a plain report: stop at ';' before the mention
        semi = f.rfind(";", s, m.start)
        lo = semi + 1 if semi >= 0 else s
        if x := _ENDORSE_FRAME.search(f, sent_lo, m.start):
            return "endorse", x.group()
        if x := _SUMMARY.search(f, sent_lo, e):
            return "summary", x.group()
        if x := _REPORT_FRAME.search(f, lo, m.start):
            return "frame", x.group()
        for x in _find_all([_REPORT_VERB, *self.cues.reporting], f[lo:m.end], lo):
            if x[0] > m.start and not re.match(r"\s*(?:que|qu'|de|d')", f[x[1]:]):
                continue
            prev = _TOKEN.findall(f[max(lo, x[0] - 25):x[0]])
            if prev and prev[-1] in {"je", "j", "moi", "ne", "n", "on", "faut", "il"}:
                continue
            # "nous"/"me" right before the verb is its subject unless a noun precedes it
            # ("nous pensons que" vs "les magistrats nous expliquent que")
            if prev and prev[-1] in ("me", "m", "nous") and (
                    len(prev) < 2 or prev[-2] in _FIRST_PERSON | {"on", "ne", "n"}):
                continue
            # "j'ai toujours dit que", "nous avons souvent proposé"
            if set(prev[-3:]) & {"je", "j"} or (
                    "nous" in prev[-3:] and not x[2].endswith("ent") and prev[-1] != "nous"):
                continue
            # the reported clause must reach the mention (no ':' or ';' in between), and a
            # comma closes it ("quand vous dites que X, vous …", "s'il nous dit « X », …")
            if x[1] < m.start and re.search(r"[;:.]", f[x[1]:m.start]):
                continue
            if x[1] < m.start and "," in f[x[1]:m.start]:
                continue
            return "frame", x[2]
        # quotation: inside "…" (or after a quote opened in the previous sentence)
        if (q := _open_quote(self.t.text[:m.start])) is not None or (
                self.prev is not None and _open_quote(self.prev.text) is not None):
            self.quote_start = q if q is not None else -1
            return "quote", "« … »"
        # an item of a list that a summary opened in the previous sentence ("…: X ; Y ;")
        if self.prev is not None and self.prev.f.rstrip().endswith((";", ":")):
            if x := _SUMMARY.search(self.prev.f):
                return "summary", x.group()
        return "", ""

    def reaction(self, m: _Mention, kind: str) -> tuple[int, str, bool]:
        """Return the speaker's reaction to reported content: (polarity, cue, next sentence)."""
        f = self.t.f
        _s, e = self.t.sentence(m.start)
        _c0, c1 = self.t.clause(m.start)
        rest = f[c1:e]
        if x := _REJECT.search(rest):
            return -1, x.group(), False
        if x := _ENDORSE.search(rest):
            return 1, x.group(), False
        q, qcue = _challenge_question(f, c1, e)
        if q and self.t.is_question(m.start):
            return q, qcue, False
        # a reaction clause of the same sentence ("quand vous dites X, vous accusez …")
        if kind == "frame" and rest.strip(" ,;"):
            first_after = re.match(r"^\W*(?:je|j'|vous|nous|on|c'est|ce serait|ils|elles|chez "
                                   r"nous|pour nous|pour moi|moi)", rest.lstrip(" ,;")) or \
                rest.lstrip().startswith((";", ":"))
            if first_after and not _SUMMARY.search(rest):
                pol, cue = _polarity(f, c1, e, self.cues, negation_default=False)
                if pol:
                    return pol, cue, False
        # later sentences of the segment, then the next segment of the turn
        for t, lo in ((self.t, e), (self.next, 0)):
            if t is None:
                continue
            if t is self.t and lo >= len(t.f):
                continue
            s2, e2 = t.sentence(lo)
            sent = t.f[s2:e2]
            if x := _REJECT.search(sent):
                return -1, x.group(), t is not self.t
            if x := _ENDORSE.search(sent):
                return 1, x.group(), t is not self.t
            q, qcue = _challenge_question(t.f, s2, e2)
            if q < 0:
                return -1, qcue, t is not self.t
            if t is self.t:
                continue
        return 0, "", False

    def concession(self, m: _Mention, reported: bool = False) -> tuple[str, int, str, bool]:
        """('même si' | 'suite' | 'condition' | 'défaut', polarity, cue, cross-segment) or ''."""
        f = self.t.f
        s, e = self.t.sentence(m.start)
        # "même si X, Y": the conceded clause runs to the next comma
        for x in _CONCEDE_SUB.finditer(f, s, m.start):
            stop = re.search(r"[,;:]", f[x.end():e])
            end = x.end() + stop.start() if stop else e
            if x.start() <= m.start < end:
                return "même si", -1, x.group(), False
        pivot = _PIVOT.search(f, m.end, e)
        b_text, b_lo, b_hi, cross = None, 0, 0, False
        if pivot:
            b_text, b_lo, b_hi = self.t, pivot.start(), e
        elif e >= len(f.rstrip()) - 1 and self.next is not None:
            ns, ne = self.next.sentences[0]
            if _PIVOT.match(self.next.f.lstrip(' "'), 0):
                b_text, b_lo, b_hi, cross = self.next, ns, ne, True
        if b_text is None:
            return "", 0, "", False
        a_f = f[s:pivot.start() if pivot else e]
        marker = _CONCEDE.search(a_f)
        bf = b_text.f[b_lo:b_hi]
        if re.match(r"^\W*(?:mais|et)\s+(?:pas|non|jamais|surtout pas|certainement pas)(?![a-z])",
                    bf):
            return "", 0, "", False  # "X, mais pas Y": a contrast that confirms X
        if cross and not marker and not reported:
            return "", 0, "", False
        if x := re.match(r"^\W*(?:mais|pourtant)\W+(?:c'est\s+|ce sont\s+)?justement", bf):
            return "suite", 1, x.group().strip(), cross  # the objection becomes the argument
        if x := _B_CONDITIONAL.match(bf):
            if marker or _STANDALONE_FOR.search(a_f) or re.search(
                    r"(?<![a-z])(?:oui|pourquoi pas|d'accord|peut|veux bien)(?![a-z])", a_f):
                return "condition", 1, x.group().strip(), cross
        bpol, bcue = _polarity(b_text.f, b_lo, b_hi, self.cues, negation_default=True)
        q, qcue = _challenge_question(b_text.f, b_lo, b_hi)
        if q:
            bpol, bcue = q, qcue
        if bpol:
            if not marker and not cross and not reported:
                # a bare "X …, mais Y": only a clearly evaluative Y turns X around
                apol, _ = _polarity(f, s, pivot.start(), self.cues, negation_default=False)
                if apol == 0 and not re.search(r",\s*$", f[s:pivot.start()]):
                    return "", 0, "", False
            return "suite", bpol, bcue, cross
        apol, acue = _polarity(f, m.end, pivot.start() if pivot else e, self.cues,
                               negation_default=True)
        if apol:
            return "suite", -apol, acue, cross
        if marker or reported:
            return "défaut", -1, marker.group() if marker else "mais", cross
        return "", 0, "", False

    def vote(self, m: _Mention, mentions: list[_Mention]) -> _Vote:
        v = self._vote(m, mentions)
        s, _e = self.t.sentence(m.start)
        if _PIVOT.search(self.t.f, m.start + 1, m.end):
            v.weight = 0.6
        elif _PIVOT.search(self.t.f, s, m.start):
            v.weight = 1.2
        return v

    def _vote(self, m: _Mention, mentions: list[_Mention]) -> _Vote:
        f = self.t.f
        code = m.code
        factor = 1.0 if m.located else 0.7
        lpol, events, lkind, first_cue = self.local(m, mentions)
        ev = ", ".join(dict.fromkeys(events))

        # irony
        if cue := self.irony(m):
            return _Vote(code, -1, "ironie", "ironie:écho" if cue.startswith("écho") else
                         "ironie", cue, factor)

        # condition: mention inside the "si" clause
        prot = self.protasis(m.start)
        if prot:
            p0, p1, a0, a1 = prot
            ptxt, atxt = f[p0:p1], f[a0:a1]
            if _COUNTERFACTUAL_P.search(ptxt) and _COUNTERFACTUAL_A.search(atxt):
                return _Vote(code, -1, "condition", "condition:contrefactuel",
                             "si … " + _COUNTERFACTUAL_A.search(atxt).group(), factor)
            if lpol < 0 and _AT_LEAST.search(atxt):
                return _Vote(code, 1, "condition", "condition:au moins",
                             "si … " + _AT_LEAST.search(atxt).group(), factor)
            q, qcue = _challenge_question(f, a0, a1) if self.t.is_question(a0) else (0, "")
            apol, acue = (q, qcue) if q else _polarity(f, a0, a1, self.cues, True)
            if apol:
                return _Vote(code, lpol * apol, "condition", "condition:conséquence",
                             f"si … {acue}".strip(), factor)
            if _PROTASIS_GOOD.search(ptxt):
                return _Vote(code, lpol, "condition", "condition:défaut", "si … bien", factor)
            return _Vote(code, -lpol, "condition", "condition:défaut", "si …", factor)

        # reported speech
        rkind, rcue = self.reported(m)
        if rkind == "endorse":
            return _Vote(code, lpol, "discours rapporté", "rapporté:adhésion", rcue, factor)
        if rkind and not (rkind == "quote" and events and first_cue < self.quote_start):
            pol, cue, cross = self.reaction(m, rkind)
            if not pol and rkind in ("frame", "quote"):
                ckind, cpol, ccue, ccross = self.concession(m, reported=True)
                if ckind in ("suite", "défaut"):
                    return _Vote(code, cpol, "concession", f"concession:{ckind}",
                                 f"{rcue} … {ccue}", factor * (0.9 if ccross else 1.0))
            if rkind == "summary" and pol and not re.search(
                    r"(?<![a-z])(?:je|j'|nous)(?![a-z])", cue + f):
                pol = 0
            if pol:
                return _Vote(code, pol * (lpol if rkind != "quote" else 1), "discours rapporté",
                             "rapporté:réaction", f"{rcue} … {cue}",
                             factor * (0.9 if cross else 1.0))
            return _Vote(code, 0, "discours rapporté", "rapporté:neutre", rcue, factor)

        # question
        if self.t.is_question(m.start):
            s, e = self.t.sentence(m.start)
            q = f[s:e]
            if x := _Q_SUPPORT.search(q):
                return _Vote(code, 1, "question rhétorique", "question:soutien", x.group() + " ?",
                             factor)
            strong = _Q_AGAINST_STRONG.search(q)
            if not strong and (x := _Q_INFO.search(q)):
                return _Vote(code, 0, "question rhétorique", "question:information",
                             x.group() + " ?", factor)
            if strong or (x := _Q_AGAINST.search(q)):
                cue = (strong or x).group()
                return _Vote(code, -lpol, "question rhétorique", "question:contre", cue + " ?",
                             factor)
            if re.match(r"^\W*est-ce qu", q):
                return _Vote(code, 0, "question rhétorique", "question:information",
                             "est-ce que … ?", factor)
            if self.next is not None:
                nq, ncue = _challenge_question(self.next.f, *self.next.sentences[0])
                if nq:
                    return _Vote(code, nq * lpol, "question rhétorique", "question:suivante",
                                 ncue + " ?", factor)
            if lkind == "post":  # "X ? Non, …": the speaker answers their own question
                return _Vote(code, lpol, "négation", "négation:après", ev, factor)
            return _Vote(code, -lpol, "question rhétorique", "question:écho", "… ?", factor)

        # concession
        ckind, cpol, ccue, cross = self.concession(m)
        if ckind:
            pol = cpol if ckind != "condition" else lpol
            if ckind == "suite" and events:
                pol = cpol * (1 if lpol > 0 else -1) if cpol < 0 else lpol
            if ckind == "même si":
                pol = -lpol
            return _Vote(code, pol, "concession", f"concession:{ckind}", ccue,
                         factor * (0.9 if cross else 1.0))

        # a challenge question in the next sentence ("On nous demande X. Mais qui …?")
        s, e = self.t.sentence(m.start)
        nxt_q = 0
        if e < len(f.rstrip()):
            nxt_q, ncue = _challenge_question(f, *self.t.sentence(e))
        elif self.next is not None:
            nxt_q, ncue = _challenge_question(self.next.f, *self.next.sentences[0])
        if nxt_q < 0 and not events and not _MODAL.search(f[s:e]):
            return _Vote(code, -1, "question rhétorique", "question:suivante", ncue + " ?",
                         factor)

        cond = self.condition_elsewhere(m)
        if events:
            form = "négation"
            path = "négation" if lkind == "pre" else "négation:après"
            if cond:
                return _Vote(code, lpol, form, "condition:principale", f"{ev} ({cond} …)",
                             factor)
            return _Vote(code, lpol, form, path, ev, factor)
        ppol, pcue = self.predicate(m)
        if ppol:
            return _Vote(code, ppol, "évaluation", "évaluation", pcue, factor)
        if cond:
            return _Vote(code, 1, "condition", "condition:principale", cond + " …", factor)
        modal = _MODAL.search(f[s:e])
        if modal:
            return _Vote(code, 1, "direct", "direct:modal", modal.group(), factor)
        return _Vote(code, 1, "direct", "direct", "", factor)


def _alternative(f: str, mentions: list[_Mention]) -> str:
    """'X ou Y' naming two different options as alternatives (no preference), or ''."""
    for a in mentions:
        for b in mentions:
            if a.code == b.code or a.start > b.start or not (a.located and b.located):
                continue
            if a.end <= b.start:
                gap = f[a.end:b.start]
            elif a.start < b.start < a.end:  # overlapping rule matches
                gap = f[a.start:b.start]
                gap = gap[gap.rfind(" ", 0, max(0, len(gap.rstrip()) - 3)) + 1:] if " ou " in \
                    f" {gap} " else "x"
            else:
                continue
            if re.fullmatch(r"\W*(?:ou|ou bien|ou alors|ou encore|ou au contraire)\W*"
                            r"(?:(?:le|la|les|l'|des|un|une|de|d')\s*)?", gap.strip() + " "):
                return "ou"
    return ""


def _resolve(votes: list[_Vote], options: list[str]) -> tuple[str, float, str, str, str]:
    """Combine the votes of a segment's mentions: (stance, confidence, form, cue, path)."""
    scores = {o: 0.0 for o in options}
    best: dict[str, _Vote] = {}
    neutral = [v for v in votes if v.polarity == 0]
    for v in votes:
        if v.polarity == 0:
            continue
        if v.polarity > 0:
            targets = [v.code]
        else:
            others = [o for o in options if o != v.code]
            targets = others if len(others) == 1 else []
        for t in targets:
            scores[t] += v.confidence * v.weight
            if t not in best or v.confidence > best[t].confidence:
                best[t] = v
    total = sum(scores.values())
    if total == 0:
        if neutral:
            v = max(neutral, key=lambda x: x.confidence)
            return NO_STANCE, round(v.confidence, 2), v.form, v.cue, v.path
        against = [v for v in votes if v.polarity < 0]
        if against:  # against one of several options: no single option follows
            v = against[0]
            return (NO_STANCE, round(0.4 * v.confidence, 2), v.form, f"contre {v.code}: {v.cue}",
                    v.path)
        return NO_STANCE, 0.3, "direct", "", ""
    winner = max(options, key=lambda o: (scores[o], -options.index(o)))
    v = best[winner]
    share = scores[winner] / total
    if sum(1 for o in options if scores[o] == scores[winner]) > 1:
        return NO_STANCE, round(0.5 * v.confidence, 2), v.form, "options à égalité", "égalité"
    conf = v.confidence * (share if share < 1 else 1.0)
    if neutral and share == 1:
        conf *= 0.9
    path = v.path if share == 1 else v.path + "+conflit"
    return winner, round(min(max(conf, 0.05), 0.99), 2), v.form, v.cue, path


# --------------------------------------------------------------------------- public API
def _empty() -> pd.DataFrame:
    df = pd.DataFrame({c: pd.Series(dtype="object") for c in OUTPUT_COLUMNS})
    df["confidence"] = df["confidence"].astype("float64")
    df["verified"] = df["verified"].astype("bool")
    return df


def _unflip(code: str, evidence: str, code_question: Mapping[str, str],
            questions: Mapping[str, Sequence[str]]) -> str:
    """Undo the rule coder's flip ("… → position inversée"): the option actually mentioned."""
    if "position inversée" not in str(evidence or ""):
        return code
    opts = list(questions.get(code_question.get(code, ""), []))
    others = [o for o in opts if o != code]
    return others[0] if len(others) == 1 else code


def detect_stances(segments: pd.DataFrame, candidates: pd.DataFrame,
                   questions: Mapping[str, Sequence[str]], cues: Mapping | None = None,
                   *, _keep_path: bool = False) -> pd.DataFrame:
    """Decide the speaker's stance on each position question a segment mentions.

    Args:
        segments: all segments, with ``segment_id`` and ``text``; ``turn_id`` and ``seg_n``
            (order within the turn) give the previous and next sentences of the same turn as
            context (without them the segment is read alone). ``lemmas`` is not needed.
        candidates: one row per option mention found by the rules: ``segment_id``,
            ``code_id`` (the option whose keywords matched) and ``matched_text`` (the matched
            words; several joined with `` | ``). A row whose ``evidence`` says ``position
            inversée`` (the rule coder already flipped it) is read as a mention of the other
            option. Rows whose code is not an option of ``questions`` are ignored.
        questions: parent code → its option codes, e.g. ``{"MIL": ["MIL.INT", "MIL.DES"]}``.
        cues: optional extra cues, e.g. the codebook's ``stance`` section: ``against_before``
            (lemmas that put the speaker against what follows: added to the negation cues),
            ``against_after`` (negative judgements), and ``negative``, ``positive``,
            ``hedges``, ``reporting`` (more words of each kind). Lemmas are matched as
            prefixes of the folded words (``refuser`` matches « refusons »).

    Returns:
        One row per (segment, question) with a candidate, sorted by ``segment_id`` then
        ``question``: ``segment_id``, ``question``, ``matched_code`` (the option codes
        mentioned, joined with ``|``), ``stance`` (an option code, :data:`RESERVED`, or ``""``
        when the segment states no stance), ``confidence`` (0–1, about the accuracy of the
        rule path on the benchmark's dev split), ``form`` (one of :data:`FORMS`), ``cue`` (the
        words that decided) and ``verified`` (always False: for the reviewer). The inputs are
        not modified; the same inputs give the same output.

    Raises:
        KeyError: ``segments`` lacks ``segment_id`` or ``text``, or ``candidates`` lacks
            ``segment_id`` or ``code_id``.

    """
    for col in ("segment_id", "text"):
        if col not in segments.columns:
            raise KeyError(f"segments: missing column {col!r}")
    for col in ("segment_id", "code_id"):
        if col not in candidates.columns:
            raise KeyError(f"candidates: missing column {col!r}")
    code_question = {c: q for q, opts in questions.items() for c in opts}
    if candidates.empty or not code_question:
        return _empty()
    compiled = _compile_cues(cues)

    # context: previous / next segment of the same turn
    seg_ids = segments["segment_id"].astype(str).tolist()
    texts = segments["text"].fillna("").astype(str).tolist()
    text_of = dict(zip(seg_ids, texts, strict=True))
    prev_of: dict[str, str] = {}
    next_of: dict[str, str] = {}
    if "turn_id" in segments.columns:
        turns = segments["turn_id"].astype(str).tolist()
        order = (pd.to_numeric(segments["seg_n"], errors="coerce").fillna(0).tolist()
                 if "seg_n" in segments.columns else list(range(len(segments))))
        by_turn: dict[str, list[tuple[float, int, str]]] = {}
        for i, (sid, turn, n) in enumerate(zip(seg_ids, turns, order, strict=True)):
            by_turn.setdefault(turn, []).append((float(n), i, sid))
        for items in by_turn.values():
            items.sort()
            for k, (_n, _i, sid) in enumerate(items):
                if k > 0:
                    prev_of[sid] = text_of[items[k - 1][2]]
                if k + 1 < len(items):
                    next_of[sid] = text_of[items[k + 1][2]]

    cand_ids = candidates["segment_id"].astype(str).tolist()
    cand_codes = candidates["code_id"].astype(str).tolist()
    cand_texts = (candidates["matched_text"].fillna("").astype(str).tolist()
                  if "matched_text" in candidates.columns else [""] * len(candidates))
    cand_evid = (candidates["evidence"].fillna("").astype(str).tolist()
                 if "evidence" in candidates.columns else [""] * len(candidates))
    grouped: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for sid, code, mt, ev in zip(cand_ids, cand_codes, cand_texts, cand_evid, strict=True):
        if code not in code_question or sid not in text_of:
            continue
        code = _unflip(code, ev, code_question, questions)
        grouped.setdefault((sid, code_question[code]), []).append((code, mt))

    rows = []
    for (sid, question), items in sorted(grouped.items()):
        an = _Analyser(text_of[sid], prev_of.get(sid, ""), next_of.get(sid, ""), compiled)
        mentions: list[_Mention] = []
        for code, mt in items:
            spans = _locate(an.t, mt)
            if spans:
                mentions.extend(_Mention(code, a, b) for a, b in spans)
            else:
                s, e = an.t.sentences[0]
                mentions.append(_Mention(code, s, s, located=False))
        mentions.sort(key=lambda x: (x.start, x.end, x.code))
        uniq: list[_Mention] = []
        for mm in mentions:
            if not any(u.code == mm.code and u.start == mm.start and u.end == mm.end
                       for u in uniq):
                uniq.append(mm)
        options = list(questions[question])
        seen_codes = {c for c, _ in items}
        matched = "|".join(o for o in questions[question] if o in seen_codes)
        hedge = an.hedge(uniq)
        if hedge:
            conf = _PATH_CONFIDENCE["réserve"]
            rows.append((sid, question, matched, RESERVED, conf, "réserve", hedge, "réserve"))
            continue
        votes = [an.vote(mm, uniq) for mm in uniq]
        if alt := _alternative(an.t.f, uniq):
            votes = [_Vote(v.code, 0 if v.form in ("direct", "négation", "évaluation") else
                           v.polarity, v.form, "alternative" if v.form in
                           ("direct", "négation", "évaluation") else v.path, v.cue or alt)
                     for v in votes]
        rows.append((sid, question, matched, *_resolve(votes, options)))
    if not rows:
        return _empty()
    out = pd.DataFrame(rows, columns=[*OUTPUT_COLUMNS[:-1], "path"])
    if not _keep_path:
        out = out.drop(columns="path")
    out["confidence"] = out["confidence"].astype("float64")
    out["verified"] = False
    return out.sort_values(["segment_id", "question"], kind="mergesort").reset_index(drop=True)
