"""Fill-mask probes: does a masked LM use the sentence around a blank, or guess the frequent words?

A model on the unigram plateau ranks "the", "of", "," for every blank; a
model that reads context ranks the word the phrase calls for. The probes
below were fixed *before* any reference model was trained, by a rule that
leaves no room to pick flattering cases: for each of fifteen fixed phrases
whose last words are determined by the words before them, the first sentence
(of at most 40 words) in the held-out speeches, in date order, that contains
the phrase and does not also occur in a training speech, with the determined
word replaced by ``[MASK]`` (``tests/evaluation/test_cloze.py`` checks the
sentences' origin).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .. import checks
from .predictions import fill_mask


@dataclass(frozen=True)
class ClozeProbe:
    """One held-out sentence, the word to hide in it, and the phrase that determines that word."""

    sentence: str
    answer: str
    phrase: str
    year: int  # of the held-out speech it comes from

    def masked(self, mask_token: str) -> str:
        """The sentence with ``answer`` (inside ``phrase``, first occurrence) replaced by ``mask_token``."""
        match = re.search(re.escape(self.phrase), self.sentence, flags=re.IGNORECASE)
        if match is None:
            raise ValueError(f"probe phrase {self.phrase!r} is not in its sentence {self.sentence!r}.")
        inside = re.search(rf"\b{re.escape(self.answer)}\b", match.group(0), flags=re.IGNORECASE)
        if inside is None:
            raise ValueError(f"probe answer {self.answer!r} is not a word of its phrase {self.phrase!r}.")
        start, end = match.start() + inside.start(), match.start() + inside.end()
        return self.sentence[:start] + mask_token + self.sentence[end:]


FILL_MASK_PROBES: tuple[ClozeProbe, ...] = (
    ClozeProbe("The United States of America and the people of every State of which they are composed are each "
               "of them sovereign powers.", "america", "united states of america", 1828),
    ClozeProbe("Fellow-Citizens of the Senate and House of Representatives: I embrace with great satisfaction "
               "the opportunity which now presents itself of congratulating you on the present favorable "
               "prospects of our public affairs.", "representatives", "senate and house of representatives",
               1790),
    ClozeProbe("The report of the Secretary of the Treasury hereto appended shows also a branch of the public "
               "service not specifically intrusted to any officer which might be advantageously committed to the "
               "Attorney General.", "treasury", "secretary of the treasury", 1830),
    ClozeProbe("I cordially congratulate you upon the final settlement by the Supreme Court of the United States "
               "of the question of slavery in the Territories, which had presented an aspect so truly formidable "
               "at the commencement of my Administration.", "supreme", "the supreme court", 1859),
    ClozeProbe("In this Nation the ideals of freedom and equality can be given specific meaning in terms of "
               "health, education, social security, and housing.", "security", "social security", 1948),
    ClozeProbe("We are giving, and will continue to give, our full support to the United Nations.", "nations",
               "the united nations", 1948),
    ClozeProbe("It would be a ruinous practice in the days of peace and prosperity to go on increasing the "
               "national debt to meet the ordinary expenses of the Government.", "debt", "the national debt",
               1859),
    ClozeProbe("Thank you, and God bless you all.", "bless", "god bless", 1995),
    ClozeProbe('Whilst it is the duty of the President "from time to time to give to Congress information of the '
               'state of the Union," I shall not refer in detail to the recent sad and bloody occurrences at '
               "Harpers Ferry.", "union", "state of the union", 1859),
    ClozeProbe("Unless the American people have degenerated, the same result can be again effected when ever "
               "experience points out the necessity of a resort to the same means to uphold the fabric which "
               "their fathers have reared.", "people", "the american people", 1830),
    ClozeProbe("Over 14 million men and women who served in the armed forces in World War II have now returned "
               "to civilian life.", "women", "men and women", 1948),
    ClozeProbe("At the establishment of the Federal Government under the present Constitution of the United "
               "States the principle was adopted of considering them as foreign and independent powers and also "
               "as proprietors of lands.", "federal", "the federal government", 1828),
    ClozeProbe("It has done honor to themselves, entitled them to the confidence of their fellow citizens in every "
               "part of the Union, and must strengthen the general determination to protect them efficaciously "
               "under all circumstances which may occur.", "citizens", "fellow citizens", 1806),
    ClozeProbe("Over 14 million men and women who served in the armed forces in World War II have now returned "
               "to civilian life.", "forces", "armed forces", 1948),
    ClozeProbe("The report of the Secretary of the Treasury hereto appended shows also a branch of the public "
               "service not specifically intrusted to any officer which might be advantageously committed to the "
               "Attorney General.", "general", "attorney general", 1830),
)


def cloze_table(model, tokenizer, probes=FILL_MASK_PROBES, *, top_k: int = 5):
    """One row per probe: the masked sentence, the answer, the model's ``top_k`` guesses and the answer's rank.

    ``rank`` is 1 for the top guess and ``None`` when the answer is not in the
    top ``k``; ``hit`` says whether it is. The answer must be one token of the
    tokenizer's vocabulary (otherwise one blank cannot hold it), which is checked.
    """
    import pandas as pd

    checks.positive_int("top_k", top_k)
    probes = tuple(probes)
    if not probes:
        raise ValueError("probes is empty; pass at least one ClozeProbe (default: FILL_MASK_PROBES).")
    rows = []
    for probe in probes:
        answer_ids = tokenizer(probe.answer, add_special_tokens=False)["input_ids"]
        if len(answer_ids) != 1:
            raise ValueError(f"probe answer {probe.answer!r} is {len(answer_ids)} tokens for this tokenizer; "
                             "a [MASK] stands for one token, so choose a probe whose answer is one token.")
        answer = tokenizer.convert_ids_to_tokens(answer_ids[0])
        guesses = [token for token, _ in fill_mask(model, tokenizer, probe.masked(tokenizer.mask_token),
                                                   top_k=top_k)[0]]
        rank = guesses.index(answer) + 1 if answer in guesses else None
        rows.append({"sentence": probe.masked(tokenizer.mask_token), "answer": answer,
                     f"top {top_k}": ", ".join(guesses), "rank": rank, "hit": rank is not None})
    return pd.DataFrame(rows)
