import pytest

from agents._guard import LLMGuard, LLMUnusableError
from agents._schemas import ReviewDraft


def _ask(guard: LLMGuard):
    return guard.ask(
        "reflection",
        ReviewDraft,
        goal="g",
        dataset="d",
        id="H1",
        statement="s",
        rationale="r",
        experiment="e",
        prediction="p",
        others="-",
        similar="-",
        trials=4,
    )


def test_usable_answer_resets_the_streak(fakes) -> None:
    guard = LLMGuard(fakes.ScriptedFakeLLM(), streak=3, limit=5)
    assert isinstance(_ask(guard), ReviewDraft)
    assert guard.updates()["llm_failure_streak"] == 0 and guard.failures == 0


def test_garbage_is_none_until_the_limit_then_a_clear_error(fakes) -> None:
    guard = LLMGuard(fakes.ScriptedFakeLLM(garbage=True), streak=0, limit=3)
    assert _ask(guard) is None and _ask(guard) is None
    with pytest.raises(LLMUnusableError, match="3 unusable answers in a row"):
        _ask(guard)


def test_other_llm_errors_are_not_swallowed() -> None:
    from agents.llm import LLMUnreachableError

    class Down:
        def complete(self, *args, **kwargs):
            raise LLMUnreachableError("http://x", 3, "timeout")

    with pytest.raises(LLMUnreachableError):
        _ask(LLMGuard(Down(), streak=0, limit=3))
