"""The words the role reading listens for: speech verbs, memory frames, clause breaks.

Lists, not a grammar: what an editor notices first in a line of prose.
"""

from __future__ import annotations

import re


def _word_set(text: str) -> frozenset[str]:
    return frozenset(text.split())


SPEECH_VERBS = _word_set(
    "said says say asked asks replied replies whispered whispers shouted shouts called calls "
    "murmured murmurs muttered mutters answered answers cried cries added adds continued "
    "snapped snaps yelled yells told tells warned warns admitted admits insisted insists "
    "demanded demands explained explains breathed hissed growled growls laughed laughs sighed "
    "sighs began begins rasped rasps grumbled grumbles snarled snarls barked barks croaked "
    "mumbled mumbles sobbed pleaded pleads protested protests retorted retorts offered noted "
    "observed remarked suggested suggests agreed agrees repeated repeats promised promises "
    "announced announces declared declares exclaimed exclaims gasped gasps stammered stammers "
    "joked jokes teased scoffed scoffs spat spits groaned groans moaned wondered wonders mused "
    "muses lied confessed conceded interrupted interrupts urged urges ordered orders commanded "
    "begged begs ventured shrieked screamed screams roared roars bellowed bellows panted drawled "
    "quipped countered counters objected reasoned reminded reminds whimpered chuckled chuckles "
    "sneered rumbled recited read reads wrote writes"
)
PRONOUNS = frozenset({"he", "she"})
VERB = r"(?:" + "|".join(sorted(SPEECH_VERBS)) + r")"
# Words after a name that say nothing about it acting ("Elias for leaving", "Elias and the").
FUNCTION = _word_set(
    "a an the and or nor but of in at to for with on by from that which than as into onto over "
    "under after before behind beyond across through until since because though although if "
    "whose whom his her their its my our your this these those there here was were is are be "
    "been being"
)
SKIP = _word_set(
    "himself herself themselves still already then now just suddenly again always never too "
    "also finally slowly quickly quietly simply even only once"
)
# After a name, these keep its owner in the past: "Elias had kept", "Elias used to sit".
PAST_ONLY = _word_set(
    "had used would died dies drowned drowns perished passed lies lay rests rested "
    "could might should must"
)
STATE_AFTER_BE = _word_set("dead gone buried drowned lost missing no never remembered mourned long")
BODY = _word_set(
    "hand hands finger fingers fist eyes eye gaze voice face arm arms lips mouth breath "
    "shadow footsteps head shoulder shoulders"
)
MEMORY = re.compile(
    r"\b(?:think(?:s|ing)?\s+(?:back\s+)?(?:of|about|to)|thought\s+(?:back\s+)?(?:of|about|to)"
    r"|remember(?:s|ed|ing)?|recall(?:s|ed|ing)?|reminisc\w*|dream(?:s|ed|t|ing)?\s+(?:of|about)"
    r"|mourn(?:s|ed|ing)?|miss(?:es|ed)?|curse[sd]?|cursing|grieve[sd]?\s+for"
    r"|(?:talk|speak|laugh|joke|sing|write)(?:s|ed|ing)?\s+(?:about|of)|spoke\s+of|wrote\s+of"
    r"|sang\s+of|(?:tells?|told|telling)\s+the\s+stor(?:y|ies)\s+of"
    r"|(?:grave|tomb|headstone|memory|memories|photograph|photo|portrait|picture|ghost|death"
    r"|funeral|name|story|stories|news|letters?|diary|journal)\s+(?:of|from)|without)\b",
    re.I,
)
# A frame that puts the whole sentence in a memory, a dream or the past ("Years ago, ..."), when
# the narration says it (a quotation that opens with "Years ago" is someone speaking now).
FRAMED_SENTENCE = re.compile(
    r"^[^\w\"“‘']*(?:(?:years|months|decades|ages|long)\s+ago\b|(?:once\s+upon\s+a\s+time"
    r"|back\s+then|in\s+the\s+old\s+days)\b|(?:in|inside)\s+(?:his|her|their|my|our|your|the|a)\s+(?:old\s+)?(?:memory|memories"
    r"|dreams?|mind|imagination|photograph|photo|painting|portrait|story|stories)\b)",
    re.I,
)
# A clause ends at these; a comma ends one unless a relative or "when" clause continues it.
CLAUSE_BREAK = re.compile(
    r"[;:—–]|\s-\s|,(?!\s*(?:when|where|how|who|whom|that|as)\b)"
    r"|\s(?:until|till|unless|whereas|but)\s"
    # A bare "when" starts a new event ("mourning Ines when Ines tapped him"); ", when" and "the
    # night when" go on describing what came before.
    r"|(?<![,\s])(?<!night)(?<!day)(?<!time)(?<!morning)(?<!evening)(?<!year)(?<!hour)"
    r"(?<!moment)(?<!winter)(?<!summer)\s(?:when|while)\s",
    re.I,
)
CLAUSE_START = re.compile(r"^\s*(?:(?:and|but|then|so|suddenly|now|slowly|still)\s+)*$", re.I)
SUBORDINATE = re.compile(r"\b(?:since|after|before|until|till)\s*$", re.I)
PRESENTED = re.compile(
    r"\b(?:there\s+(?:is|was|stood|stands|sat|sits|came|comes)|it\s+(?:is|was)|it['’]s"
    r"|came|comes|stood|stands|sat|sits|appeared|appears)\s*$",
    re.I,
)
PRONOUN_SUBJECT = re.compile(
    r"(?:^|[;:—]|,\s*(?:and|but|then)?|\band\b|\bthen\b)\s*(?P<p>[Hh]e|[Ss]he)(?:['’](?:s|d|ll))?"
    r"\s+(?P<next>[a-z]+)"
)
ASIDE = re.compile(r"\s*(?:,[^,.;:!?\"“”]{1,40},|[—–][^—–.;!?\"“”]{1,60}[—–])")
# A noun a relative clause describes ("the boots Elias gave him", "Everything Elias owned"),
# not after a preposition ("At the door Elias stopped" is the story going on).
RELATIVE_HEAD = re.compile(
    r"(?:^|\b(?P<before>[A-Za-z]+)\s+)(?:the|every|each|all|his|her|their|its|my|our|your|this"
    r"|that|these|those)\s+(?:[a-z]+\s+){0,2}?(?P<head>[a-z]+)\s+(?:that\s+|which\s+)?$"
    r"|\b(?:everything|anything|nothing|something|all|whatever|what)\s+(?:that\s+)?$",
    re.I,
)
TIME_HEAD = _word_set(
    "moment instant minute second day night morning evening afternoon time hour week year way "
    "dawn dusk noon end instant"
)
# Past forms a relative clause tells a finished deed with ("the boat Elias built").
IRREGULAR_PAST = _word_set(
    "gave built kept made left took wrote sang knew drew threw caught bought brought taught "
    "fought sold told found held lost won hid rode swam dug spun lit shot sent spent bent lent "
    "meant felt dealt slept swept wept stood said paid laid ran came became began drank sank sat "
    "ate fell got forgot broke spoke chose froze woke stole rose drove bore tore swore hung "
    "struck wore carved dug sewed grew flew saw did"
)
# "thinks the Captain was right": an opinion about someone, not the someone acting.
OPINION = re.compile(
    r"\b(?:think|thinks|thought|believes?|believed|knows?|knew|feels?|felt|supposes?|supposed"
    r"|hopes?|hoped|agrees?|agreed|says|said)\s+(?:that\s+)?$",
    re.I,
)
PRESENCE_AFTER_BE = _word_set(
    "here there back alive home awake inside outside at in on by beside behind near with up "
    "down under aboard ashore upstairs downstairs standing sitting waiting still"
)
# Seen or found somewhere: "Jonah found Mara and Ines at the pier."
PERCEIVED = re.compile(
    r"\b(?:found|finds|find|saw|sees|see|spotted|spots|spot|noticed|notices|glimpsed|glimpses"
    r"|greeted|greets|hugged|hugs|kissed|kisses|joined|joins)\s+(?:[A-Z][\w'’]*\s+(?:and|or)\s+)?$"
)
PLACED = re.compile(
    r"\s+(?:at|in|on|by|beside|near|behind|outside|inside|under|across|aboard)\b|\s+[a-z]+ing\b"
)
WORD_AFTER = re.compile(r"\s*(?P<word>[A-Za-z]+)")


def clause_before(text: str, index: int) -> str:
    """The words of text[:index] since the last clause break."""
    left = text[:index]
    breaks = list(CLAUSE_BREAK.finditer(left))
    return left[breaks[-1].end() :] if breaks else left


def remembered(sentence: str, index: int) -> bool:
    """Whether sentence[index] lies inside a memory ("thinks of ...", "In her memory, ...")."""
    return bool(FRAMED_SENTENCE.match(sentence) or MEMORY.search(clause_before(sentence, index)))
