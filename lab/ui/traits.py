"""Trait types and checks whose rules live in ``lab.core``: a panel names a setting,
the core's rule decides whether a value is allowed and says why not.

A panel therefore never writes its own copy of a run setting's rule: a choice comes
from the same tuple :class:`~lab.core.training.config.RunConfig` checks against, a number goes
through :func:`~lab.core.training.config.setting_problem`, a model key through the catalog.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from traitlets import Enum, HasTraits, TraitError, Unicode

from lab.core.models import catalog
from lab.core.training.config import choice_problem, setting_problem


class Choice(Enum):
    """One of ``values`` (e.g. ``OPTIMIZERS``); a wrong value's error names the setting.

    The choices are added to ``help``.
    """

    def __init__(
        self, values: Sequence[str], default_value: str, help: str = "", **kwargs: Any
    ) -> None:
        choices = ", ".join(repr(v) for v in values)
        super().__init__(tuple(values), default_value, help=f"{help} One of {choices}.", **kwargs)

    def validate(self, obj: HasTraits | None, value: Any) -> str:
        problem = choice_problem(self.name or "value", value, tuple(self.values or ()))
        if problem is not None:
            raise TraitError(problem)
        return str(value)


class ModelKey(Unicode):
    """A catalog model key; an unknown key's error names the closest known ones."""

    def validate(self, obj: HasTraits | None, value: Any) -> str:
        key = str(super().validate(obj, value))
        try:
            catalog.get_entry(key)
        except KeyError as error:
            message = error.args[0] if error.args else str(error)
            raise TraitError(f"{self.name}={key!r}: {message}") from None
        return key


@contextmanager
def as_trait_error() -> Iterator[None]:
    """Report a core rule's ``ValueError`` (``DataError``, ``ConfigError``) as a TraitError.

    traitlets expects a validator to raise TraitError; the message stays the core's.
    """
    try:
        yield
    except ValueError as error:
        raise TraitError(str(error)) from None


def run_setting(proposal: dict[str, Any], setting: str | None = None) -> Any:
    """A ``@validate`` handler's answer for a trait that holds the run setting ``setting``.

    ``setting`` defaults to the trait's own name; the error names the trait.
    """
    name, value = proposal["trait"].name, proposal["value"]
    problem = setting_problem(setting or name, value, name)
    if problem is not None:
        raise TraitError(problem)
    return value
