"""The python-liquid environment one post body is rendered in: Jekyll's tags and filters, its leniency, and bounds.

One environment is made per rendering (``liquid.render_liquid``): it carries that post's notes and include budget,
so renderings share no mutable state and may run on several threads at once. Making one costs under a hundred
microseconds (registering tags and filters): most of the cost of rendering a short body, small beside
reading and rendering its post.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any, ClassVar, cast

from liquid import Environment, Mode
from liquid.builtin.output import Output, OutputNode
from liquid.context import RenderContext
from liquid.exceptions import LiquidError, ResourceLimitError
from liquid.stringify import to_liquid_string
from liquid.template import BoundTemplate

from syndicate import _liquid_filters, _liquid_tags

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import TextIO

    from liquid.token import Token

    from syndicate.liquid import LiquidSite

# Bounds on what one post's Liquid may cost: posts are untrusted input. A loop's limit is the product of the lengths
# of the loops it is nested in (python-liquid counts it so), which bounds nested loops as well as long ones.
LOOP_ITERATION_LIMIT = 100_000
OUTPUT_LIMIT_BYTES = 8 * 1024 * 1024
LOCAL_NAMESPACE_LIMIT_BYTES = 8 * 1024 * 1024
CONTEXT_DEPTH_LIMIT = 30
# A range bigger than this is refused by every filter (``(1..1000000000) | join`` would build gigabytes at once).
RANGE_LIMIT = 100_000


class _Context(RenderContext):
    """Notes a filter the environment does not have (it passes its input on, as in Jekyll) instead of failing."""

    def filter(self, name: str, token: Token | None) -> Callable[..., object]:
        if name not in self.env.filters:
            cast("JekyllEnvironment", self.env).note(
                f"Liquid filter '{name}' comes from a plugin syndicate does not have; its input kept"
            )
        return super().filter(name, token)


class _Template(BoundTemplate):
    context_class = _Context


class JekyllEnvironment(Environment):
    """Jekyll's Liquid for one post: its tags and filters, undefined names empty, unknown filters passed over.

    Problems that Jekyll would report do not raise here: each becomes a note in ``notes`` and the rest of the post is
    rendered. Only exceeding a resource bound stops the rendering (``ResourceLimitError`` raised).
    """

    loop_iteration_limit: ClassVar[int | None] = LOOP_ITERATION_LIMIT
    output_stream_limit: ClassVar[int | None] = OUTPUT_LIMIT_BYTES
    local_namespace_limit: ClassVar[int | None] = LOCAL_NAMESPACE_LIMIT_BYTES
    context_depth_limit: ClassVar[int] = CONTEXT_DEPTH_LIMIT
    template_class = _Template

    def __init__(self, site: LiquidSite, path: str) -> None:
        self.site = site
        self.path = path
        self.notes: list[str] = []
        self.includes_rendered = 0
        self.include_depth = 0
        self.partials: dict[str, BoundTemplate] = {}
        # Jekyll's default: lax filters (an unknown one passes its input on, as Liquid does when strict_filters is
        # off); the mode is STRICT only so that every problem reaches ``error`` below, which notes it.
        super().__init__(tolerance=Mode.STRICT, strict_filters=False)

    def setup_tags_and_filters(self, *, extra: bool = False) -> None:
        super().setup_tags_and_filters(extra=extra)
        self.add_tag(_RubyOutput)
        _liquid_tags.register(self)
        _liquid_filters.register(self)
        for name, func in list(self.filters.items()):
            self.filters[name] = _bounded(func)

    def note(self, message: str) -> None:
        """Record one problem in this post, once."""
        text = f"{self.path}: {message}"
        if text not in self.notes:
            self.notes.append(text)

    def error(
        self,
        exc: type[LiquidError] | LiquidError,
        msg: str | None = None,
        token: Token | None = None,
    ) -> None:
        if not isinstance(exc, LiquidError):
            exc = exc(msg, token=token)
        if isinstance(exc, ResourceLimitError):
            raise exc
        self.note(f"Liquid error ({_describe(exc)}); that part left out")


def _describe(exc: LiquidError) -> str:
    """The error's message without python-liquid's source excerpt (which repeats the post)."""
    message = exc.args[0] if exc.args else type(exc).__name__
    return str(message).splitlines()[0] if str(message) else type(exc).__name__


def ruby_text(value: object) -> str:
    """A value as Jekyll's Liquid prints it: times as Ruby's ``Time#to_s`` (``2021-01-02 10:00:00 +0800``)."""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S %z" if value.tzinfo is not None else "%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    return to_liquid_string(value, autoescape=False)


class _RubyOutputNode(OutputNode):
    def render_to_output(self, context: RenderContext, buffer: TextIO) -> int:
        return buffer.write(ruby_text(self.expression.evaluate(context)))


class _RubyOutput(Output):
    """``{{ … }}`` printing values as Jekyll does (see ``ruby_text``)."""

    node_class = _RubyOutputNode


def _bounded(func: Callable[..., Any]) -> Callable[..., Any]:
    """``func``, refusing a range longer than RANGE_LIMIT as its input (python-liquid gives ranges lazily)."""

    def bounded(left: object, *args: Any, **kwargs: Any) -> Any:
        if isinstance(left, range) and len(left) > RANGE_LIMIT:
            raise _RangeLimitError(f"a range of {len(left)} items is more than {RANGE_LIMIT}", token=None)
        return func(left, *args, **kwargs)

    bounded.__dict__.update(func.__dict__)  # with_context / with_environment flags
    return bounded


class _RangeLimitError(ResourceLimitError):
    pass
