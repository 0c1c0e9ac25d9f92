"""Rules that read a research goal: the fallback when the LLM's reading of it is unusable.

A run answers a question (DESIGN.md, "Research questions and hypotheses"). The LLM picks
the question kind, the factors to test and the families to look at from closed lists;
when its choice is missing or invalid, these rules read the same things from the goal
text. They are deliberately plain: keyword patterns on a normalised copy of the goal
(lower case, punctuation and hyphens turned into spaces, so "kNN-style", "k-NN" and
"k NN" read alike), with a fixed precedence when several cues appear:

1. ``constrained``: a superlative of size or speed ("smallest", "fastest", "simplest"),
   a size or speed budget ("under 50 KB"), or a size/speed objective together with a
   tolerance ("within 1 point", "nearly as accurate");
2. ``effect``: a comparison of levers ("the bigger lever", "which matters more" over two
   or more named factors);
3. ``why``: features or data properties that drive the score, "why", or whether more
   training data would help;
4. ``effect``: whether a factor helps ("does X help", "the effect of X", "X vs Y");
5. ``best`` otherwise.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, cast, get_args

QuestionKind = Literal["best", "effect", "constrained", "why"]
Factor = Literal[
    "family",
    "scaling",
    "encoding",
    "feature_selection",
    "class_weighting",
    "train_fraction",
    "search_region",
    "ensembling",
    "features",
]
SecondaryObjective = Literal["model_size", "latency"]

QUESTION_KINDS: tuple[str, ...] = get_args(QuestionKind)
FACTORS: tuple[str, ...] = get_args(Factor)


def _normalise(goal: str) -> str:
    """Lower case, with every run of punctuation, hyphens or spaces made one space.

    Decimal points and ``%`` survive, so "0.5%" is still a number; the text is padded
    with spaces so patterns can rely on word boundaries at both ends.
    """
    text = unicodedata.normalize("NFKC", goal).lower()
    text = re.sub(r"(?<!\d)\.|\.(?!\d)", " ", text)
    text = re.sub(r"[^a-z0-9%.]+", " ", text)
    return f" {text.strip()} "


def _compile(*patterns: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns))


_FACTOR_PATTERNS: dict[Factor, re.Pattern[str]] = {
    "family": _compile(
        r"\bmodel (?:famil(?:y|ies)|types?|class(?:es)?|choice)\b",
        r"\bfamil(?:y|ies) of models?\b",
        r"\balgorithms?\b",
        r"\b(?:classifier|regressor|learner|estimator) (?:types?|famil(?:y|ies)|choice)\b",
        r"\b(?:type|kind|choice) of (?:model|classifier|regressor|learner|estimator)s?\b",
        r"\bwhich (?:models?|classifiers?|regressors?|learners?|estimators?)\b",
    ),
    "scaling": _compile(
        r"\b(?:re)?scal(?:ing|ed|er|ers)\b",
        r"\bfeature scales?\b",
        r"\bscale (?:the )?(?:features|inputs|columns|data)\b",
        r"\bstandardi[sz](?:e|es|ed|ing|ation)\b",
        r"\bnormali[sz](?:e|es|ed|ing|ation)\b",
        r"\bz scores?\b",
        r"\bmin max\b",
    ),
    "encoding": _compile(
        r"\bone ?hot\b",
        r"\bordinal\b",
        r"\bdummy (?:variables|coding|encoding)\b",
        r"\b(?:target|categorical|category) encod(?:ing|er|ed)\b",
        r"\bencod(?:ing|ings|er|ers)\b",
    ),
    "feature_selection": _compile(
        r"\bfeature selection\b",
        r"\bselect(?:ing|ed)? (?:the )?(?:top |best |fewer |a subset of )?(?:k )?"
        r"(?:best )?features\b",
        r"\bk ?best\b",
        r"\bfewer features\b",
        r"\bfeature subsets?\b",
        r"\bsubsets? of (?:the )?features\b",
        r"\b(?:drop|dropping|remove|removing|prune|pruning) (?:the )?"
        r"(?:uninformative |irrelevant |noisy |redundant |weak )?features\b",
    ),
    "class_weighting": _compile(
        r"\bclass ?weight(?:s|ing|ed)?\b",
        r"\b(?:class )?imbalance[ds]?\b",
        r"\b(?:re|over|under|up|down) ?sampl(?:e|ed|ing)\b",
        r"\bsmote\b",
        r"\bre ?balanc(?:e|ed|ing)\b",
        r"\bre ?weight(?:ed|ing)?\b",
    ),
    "train_fraction": _compile(
        r"\bmore (?:training )?(?:data|examples|samples|rows|observations)\b",
        r"\b(?:less|fewer|additional|extra) (?:training )?(?:data|examples|samples|rows)\b",
        r"\b(?:training|train) (?:set |data )?(?:size|fraction|sizes)\b",
        r"\bsize of the (?:training|train) (?:set|data)\b",
        r"\b(?:larger|bigger|smaller) (?:training|train) (?:sets?|data)\b",
        r"\bfraction of (?:the )?(?:training )?data\b",
        r"\blearning curves?\b",
        r"\bdata (?:limited|hungry|starved)\b",
        r"\bsample sizes?\b",
    ),
    "search_region": _compile(
        r"\bhyper ?param(?:eter)?s? (?:ranges?|space|spaces|region|regions|bounds|grid)\b",
        r"\bsearch (?:space|spaces|region|regions|ranges?|bounds)\b",
        r"\btuning (?:region|regions|ranges?|space|bounds)\b",
        r"\branges? of (?:the )?hyper ?param(?:eter)?s\b",
    ),
    "features": _compile(
        r"\bfeature (?:engineering|transforms?|transformations?|construction)\b",
        r"\b(?:new|derived|engineered|extra|constructed) features?\b",
        r"\b(?:a |the )?ratios? (?:of|between) (?:two )?(?:columns|features)\b",
        r"\b(?:log|logarithm|square root) (?:of|transform)\b",
        r"\binteraction (?:features?|terms?)\b",
        r"\b(?:products?|differences?|sums?) (?:of|between) (?:two |the )?(?:columns|features)\b",
        r"\b(?:log|logarithmic|sqrt|square root|rank|quantile) transform(?:s|ed|ation)?\b",
        r"\bgroup (?:means?|statistics|stats)\b",
    ),
    "ensembling": _compile(
        r"\bensembl(?:e|es|ing|ed)\b",
        r"\bstack(?:ing|ed)\b",
        r"\bbagg(?:ing|ed)\b",
        r"\bblend(?:ing|ed)\b",
        r"\bvoting\b",
    ),
}

# Transform kinds of the feature vocabulary a goal can name; they restrict the feature
# hypotheses to those kinds (as naming kNN restricts the family ones).
_TRANSFORM_PATTERNS: dict[str, re.Pattern[str]] = {
    "ratio": _compile(r"\bratios?\b", r"\bquotients?\b", r"\bdivid(?:e|ed|ing) (?:one|a)\b"),
    "product": _compile(
        r"\bproducts? (?:of|between)\b", r"\binteraction (?:features?|terms?)\b",
        r"\bmultipl(?:y|ying|ied) (?:two |the )?(?:columns|features)\b",
    ),
    "difference": _compile(r"\bdifferences? (?:of|between) (?:two |the )?(?:columns|features)\b"),
    "sum": _compile(r"\bsums? (?:of|between) (?:two |the )?(?:columns|features)\b"),
    "log1p": _compile(r"\blog(?:arithm|arithmic|arithms)?s? ?(?:of|transform\w*)\b", r"\blog1p\b"),
    "sqrt": _compile(r"\bsquare roots?\b", r"\bsqrt\b"),
    "rank": _compile(r"\b(?:rank|quantile) transform\w*"),
    "group": _compile(r"\bgroup (?:means?|statistics|stats)\b"),
    "frequency": _compile(r"\bfrequency encod\w*"),
    "target_encoding": _compile(r"\btarget encod\w*"),
}  # fmt: skip

_FAMILY_PATTERNS: dict[str, re.Pattern[str]] = {
    "logistic": _compile(r"\blogistic\b", r"\blogit\b", r"\blinear (?:classifiers?|models?)\b"),
    "ridge": _compile(r"\bridge\b", r"\blinear (?:regression|regressors?|models?)\b"),
    "elastic_net": _compile(r"\belastic ?net\b", r"\blasso\b"),
    "random_forest": _compile(r"\brandom ?forests?\b", r"\brf\b"),
    "extra_trees": _compile(r"\bextra ?trees?\b", r"\bextremely randomi[sz]ed\b"),
    "hist_gradient_boosting": _compile(
        r"\bgradient ?boost\w*",
        r"\bhist ?gradient\w*",
        r"\bhgbt?\b",
        r"\bgbdt\b",
        r"\bboosted (?:decision )?(?:trees?|models?)\b",
        r"\bboosting\b",
    ),
    "lightgbm": _compile(r"\blight ?gbm\b", r"\blgbm\b"),
    "svm": _compile(r"\bsvms?\b", r"\bsv[cr]\b", r"\bsupport vectors?\b", r"\bkernel machines?\b"),
    # "Distance-based" means kNN here: the SVM's kernel is not a neighbour vote.
    "knn": _compile(
        r"\bk ?nn\b",
        r"\bk ?nearest\b",
        r"\bnearest neighbou?rs?\b",
        r"\bk ?neighbou?rs\b",
        r"\bdistance based\b",
    ),
    "mlp": _compile(
        r"\bmlps?\b",
        r"\bneural (?:net|nets|network|networks)\b",
        r"\b(?:multi ?layer )?perceptrons?\b",
    ),
}

_SECONDARY_PATTERNS: dict[SecondaryObjective, re.Pattern[str]] = {
    "model_size": _compile(
        r"\bsmallest\b",
        r"\bsimplest\b",
        r"\bsimpler (?:models?|classifiers?|regressors?)\b",
        r"\bsmall(?:er)? (?:models?|classifiers?|regressors?|footprint|artifacts?|files?)\b",
        r"\b(?:most )?compact\b",
        r"\blight ?weight\b",
        r"\b(?:lightest|leanest|tiniest)\b",
        r"\b(?:kb|kib|kilobytes?|mb|megabytes?)\b",
        r"\d ?(?:kb|kib|mb)\b",
        r"\b(?:fewest|fewer) parameters\b",
        r"\b(?:parameter count|number of parameters|memory footprint)\b",
        # "size" of a model, not of the training set or sample.
        r"(?<!\bset )(?<!\bdata )(?<!\bsample )(?<!\bbatch )(?<!\bstep )(?<!\beffect )"
        r"(?<!\btraining )(?<!\btrain )\bsizes?\b",
    ),
    "latency": _compile(
        r"\bfast(?:est|er)\b",
        r"\bfast (?:models?|predictions?|inference|to predict|at predict\w*)\b",
        r"\bquick(?:est|er)\b",
        r"\bquick(?:ly)? to (?:predict|score|run)\b",
        r"\bquick (?:predictions?|inference)\b",
        r"\blatency\b",
        r"\b(?:inference|prediction|predict|scoring) (?:time|speed|cost)\b",
        r"\bpredicts? (?:fast|quickly)\b",
        r"\breal ?time\b",
        r"\bthroughput\b",
        r"\b(?:ms|milliseconds?|microseconds?) per (?:row|prediction|sample)\b",
    ),
}

_SIZE_OR_SPEED_SUPERLATIVE = re.compile(
    r"\b(?:smallest|fastest|simplest|quickest|leanest|lightest|tiniest|cheapest|"
    r"most (?:compact|lightweight|light weight|efficient)|least complex|fewest parameters|"
    r"lowest (?:latency|inference time|prediction time))\b"
)
_NEAR_THE_BEST = _compile(
    r"\bwithin\b",
    r"\b(?:nearly|almost|about|roughly|practically) as (?:accurate|good|strong)\b",
    r"\bas (?:accurate|good) as\b",
    r"\bclose to (?:the )?(?:best|top|leader)\b",
    r"\bcomparable\b",
    r"\bwithout (?:losing|sacrificing|giving up|hurting|much loss)\b",
    r"\btrade ?offs?\b",
    r"\btolerance\b",
    r"\b(?:at most|no more than) \S+ (?:points?|pp|%)",
    r"\bgood enough\b",
)
_SIZE_OR_SPEED_BUDGET = re.compile(
    r"\b(?:under|below|at most|less than|no more than|within|smaller than|faster than) "
    r"\d+(?:\.\d+)? ?(?:kb|kib|mb|ms|milliseconds?)\b"
)
_LEVER_COMPARISON = _compile(
    r"\blevers?\b",
    r"\bknobs?\b",
    r"\b(?:which|what) (?:factor|choice|setting|step|preprocessing step|intervention)s? "
    r"(?:matters|helps|counts)\b",
)
_MATTERS_MORE = re.compile(r"\b(?:matters?|helps?|counts?) (?:more|most)\b|\bmore important\b")
_WHY = _compile(
    r"(?<!\band )(?<!\bor )\bwhy\b",
    r"\bexplain\w*\b",
    r"\b(?:which|what) (?:single )?(?:features?|variables?|columns?|inputs?|predictors?|"
    r"attributes?|covariates?)\b(?! (?:scaling|scaler|selection|encoding|transform))",
    r"\bfeature importances?\b",
    r"\bpermutation importances?\b",
    r"\bshap\b",
    r"\bimportant (?:features|variables|columns|inputs|predictors)\b",
    r"\b(?:features|variables|columns|inputs|predictors) (?:matter|drive|contribute|carry)\b",
    r"\bwhat (?:drives|is driving|makes|determines)\b",
    r"\bdriv(?:es|ing|ers?) (?:the )?(?:score|accuracy|performance|error|predictions?)\b",
    r"\bdata (?:properties|characteristics)\b",
    r"\bproperties of the data\b",
)
_EFFECT_PHRASES = _compile(
    r"\b(?:which|what) (?:kind of |type of )?(?:feature )?(?:scaling|scaler|encoding|encoder|"
    r"normali[sz]ation|standardi[sz]ation|feature selection|class weighting|resampling|"
    r"ensembl\w*)\b",
    r"\b(?:effect|effects|impact|influence|benefit) of\b",
    r"\bworth(?:while)?\b",
    r"\bpays? off\b",
    r"\bmakes? (?:a|any|much|no) difference\b",
    r"\bdifference does\b",
)
_YES_NO_OPENER = re.compile(
    r"^ (?:does|do|did|would|will|can|could|should|is|are|was|were|has|have|might) "
)
_WHETHER = re.compile(r"\b(?:whether|if)\b")
_EFFECT_VERB = re.compile(
    r"\b(?:help|helps|helped|improve|improves|improved|hurt|hurts|matter|matters|beat|beats|"
    r"outperform|outperforms|boost|boosts|benefit|benefits|change|changes|affect|affects|"
    r"reduce|reduces|increase|increases|raise|raises|degrade|degrades|better|worse)\b"
)
_CONTRAST = re.compile(r"\b(?:vs|versus|compared (?:to|with)|instead of|rather than)\b")

_WORD_NUMBERS = {"a": 1.0, "one": 1.0, "half a": 0.5, "half": 0.5, "two": 2.0, "three": 3.0}
_AMOUNT = r"(half a|half|a|one|two|three|\d+(?:\.\d+)?)"
_POINT_UNIT = r"\s*(?:percentage points?|percent points?|points?|pts?|pp|%|percent)(?![a-z0-9])"
_TOLERANCE_PATTERNS = (
    re.compile(
        r"\b(?:within|at most|no more than|less than|up to|under|no worse than) (?:a )?"
        + _AMOUNT
        + _POINT_UNIT
    ),
    re.compile(
        r"\b"
        + _AMOUNT
        + _POINT_UNIT
        + r" (?:of|from|below|behind|worse than|short of|off) (?:the )?(?:best|top|leader|winner)"
    ),
)


def _first_positions(text: str, patterns: dict[str, re.Pattern[str]]) -> dict[str, int]:
    """Where each pattern first matches in ``text``; patterns that never match are absent."""
    found: dict[str, int] = {}
    for name, pattern in patterns.items():
        match = pattern.search(text)
        if match is not None:
            found[name] = match.start()
    return found


def _in_order_of_mention(positions: dict[str, int]) -> list[str]:
    return sorted(positions, key=lambda name: positions[name])


def _family_positions(text: str) -> dict[str, int]:
    return _first_positions(text, _FAMILY_PATTERNS)


def _factor_positions(text: str) -> dict[str, int]:
    positions = _first_positions(text, cast(dict[str, re.Pattern[str]], _FACTOR_PATTERNS))
    families = _family_positions(text)
    # Naming two families compares them, so the family is a factor even if unnamed as such.
    if len(families) >= 2 and "family" not in positions:
        positions["family"] = min(families.values())
    return positions


def factors_from_goal(goal: str) -> list[Factor]:
    """The factors the goal names, in order of first mention, without repeats."""
    return cast(list[Factor], _in_order_of_mention(_factor_positions(_normalise(goal))))


def transforms_from_goal(goal: str) -> list[str]:
    """The feature-transform kinds a goal about feature engineering names, in order of
    mention (none when the goal does not ask about features at all)."""
    text = _normalise(goal)
    if "features" not in _factor_positions(text):
        return []
    return _in_order_of_mention(_first_positions(text, _TRANSFORM_PATTERNS))


def families_from_goal(goal: str, valid: Sequence[str]) -> list[str]:
    """The model families the goal names, in order of mention, restricted to ``valid``.

    ``valid`` holds registry names (``automl_backend.family_names(task)``); a family the
    goal names that the task cannot use is left out.
    """
    allowed = set(valid)
    positions = _family_positions(_normalise(goal))
    return [name for name in _in_order_of_mention(positions) if name in allowed]


def tolerance_from_goal(goal: str) -> float | None:
    """The tolerance in metric points the goal states ("within 1 point" -> 1.0), else None."""
    text = _normalise(goal)
    for pattern in _TOLERANCE_PATTERNS:
        match = pattern.search(text)
        if match is not None:
            amount = match.group(1)
            return _WORD_NUMBERS[amount] if amount in _WORD_NUMBERS else float(amount)
    return None


def secondary_objective_from_goal(goal: str) -> SecondaryObjective | None:
    """The size or speed objective the goal names first, or None if it names neither."""
    positions = _first_positions(
        _normalise(goal), cast(dict[str, re.Pattern[str]], _SECONDARY_PATTERNS)
    )
    if not positions:
        return None
    return cast(SecondaryObjective, _in_order_of_mention(positions)[0])


def _is_constrained(text: str, goal: str) -> bool:
    if _SIZE_OR_SPEED_SUPERLATIVE.search(text) or _SIZE_OR_SPEED_BUDGET.search(text):
        return True
    if secondary_objective_from_goal(goal) is None:
        return False
    return tolerance_from_goal(goal) is not None or _NEAR_THE_BEST.search(text) is not None


def _compares_levers(text: str, factors: dict[str, int]) -> bool:
    if _LEVER_COMPARISON.search(text):
        return True
    return len(factors) >= 2 and _MATTERS_MORE.search(text) is not None


def _asks_why(text: str, factors: dict[str, int]) -> bool:
    return "train_fraction" in factors or _WHY.search(text) is not None


def _asks_effect(text: str, factors: dict[str, int]) -> bool:
    if _EFFECT_PHRASES.search(text):
        return True
    non_family = set(factors) - {"family"}
    asks_yes_no = _YES_NO_OPENER.search(text) is not None or _WHETHER.search(text) is not None
    if _EFFECT_VERB.search(text) and (asks_yes_no or non_family):
        return True
    return bool(non_family) and _CONTRAST.search(text) is not None


def question_from_goal(goal: str) -> QuestionKind:
    """The kind of question the goal asks, by the precedence in the module docstring."""
    text = _normalise(goal)
    factors = _factor_positions(text)
    if _is_constrained(text, goal):
        return "constrained"
    if _compares_levers(text, factors):
        return "effect"
    if _asks_why(text, factors):
        return "why"
    if _asks_effect(text, factors):
        return "effect"
    return "best"


@dataclass(frozen=True)
class GoalReading:
    """Everything the rules read from one goal."""

    kind: QuestionKind
    factors: tuple[Factor, ...]
    """Factors named, in order of mention."""
    families: tuple[str, ...]
    """Registry family names mentioned, in order of mention."""
    tolerance: float | None
    """Metric points the goal allows below the best, if it states them."""
    secondary: SecondaryObjective | None
    """Size or speed objective for a ``constrained`` question, if named."""
    transforms: tuple[str, ...] = ()
    """Feature-transform kinds named, in order of mention."""


def read_goal(goal: str, valid_families: Sequence[str]) -> GoalReading:
    """Read kind, factors, families, tolerance and secondary objective from ``goal``."""
    return GoalReading(
        kind=question_from_goal(goal),
        factors=tuple(factors_from_goal(goal)),
        families=tuple(families_from_goal(goal, valid_families)),
        tolerance=tolerance_from_goal(goal),
        secondary=secondary_objective_from_goal(goal),
        transforms=tuple(transforms_from_goal(goal)),
    )
