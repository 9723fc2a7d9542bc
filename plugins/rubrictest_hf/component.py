"""What the ``hf`` judge and target share: options, lazy loading, release, chat rendering."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from pydantic import BaseModel

from rubrictest import ComponentContext, ComponentSpec, ConfigError, JudgeError

from .batching import BatchStats
from .loading import LoadedModel, acquire, fingerprint, release, resolve_location, tokenizer_for
from .options import SPEED_ONLY, HFOptions


class LocalModel:
    """Mixin for components backed by an in-process model.

    ``check_ready`` checks path, device and tokenizer without reading weights; the model is
    acquired on the first batch and released in ``aclose``; components naming the same model
    share one copy.

    Attributes:
        options: the validated ``options``.
        stats: what the batches did (see :class:`~rubrictest_hf.batching.BatchStats`).
    """

    spec: ComponentSpec
    billable: ClassVar[bool] = False  # runs on your own hardware: --rubric-max-cost does not apply
    options_model: ClassVar[type[BaseModel] | None] = HFOptions
    context: ComponentContext
    what: str = "hf"

    def _init_local(self) -> None:
        self.options = HFOptions.parse(self.spec.options, what=self.what)
        self.stats = BatchStats()
        self._loaded: LoadedModel | None = None

    @property
    def loaded(self) -> LoadedModel:
        """The model, loaded on first use.

        Raises:
            ConfigError: it cannot be loaded (see :func:`~rubrictest_hf.loading.acquire`).
        """
        if self._loaded is None:
            self._loaded = acquire(self.spec.model, self.options, self.context.base_dir, what=self.what)
            try:
                self._on_load(self._loaded)
            except BaseException:
                release(self._loaded)
                self._loaded = None
                raise
        return self._loaded

    def _on_load(self, loaded: LoadedModel) -> None:
        """Prepare what depends on the tokenizer (answer tokens...). Raise ConfigError if unusable."""
        self._check_tokenizer(loaded.tokenizer)

    def _check_tokenizer(self, tokenizer: Any) -> None:
        """Raise ConfigError if this component cannot work with ``tokenizer``."""

    def _loaded_or_judge_error(self) -> LoadedModel:
        try:
            return self.loaded
        except ConfigError as exc:
            raise JudgeError(str(exc)) from None

    def check_ready(self) -> None:
        """Check everything but the weights, so a bad path, device or tokenizer is one clear
        error before any item runs.

        The weights are read on the first batch, in the engine's worker thread: the event
        loop is not blocked while they load, and a session whose answers all come from the
        cache never loads them.
        """
        if self._loaded is None:
            self._check_tokenizer(tokenizer_for(self.spec.model, self.options, self.context.base_dir, what=self.what))

    async def aclose(self) -> None:
        """Release the model (freed when no other component holds it)."""
        if self._loaded is not None:
            loaded, self._loaded = self._loaded, None
            release(loaded)

    def local_identity(self) -> dict[str, Any]:
        """Cache identity: the spec minus speed-only options, plus the weights' fingerprint."""
        options = {k: v for k, v in self.spec.options.items() if k not in SPEED_ONLY}
        try:
            location = resolve_location(self.spec.model, self.context.base_dir, what=self.what)
        except ConfigError:
            location = str(self.spec.model)
        return {"options": options, "weights": fingerprint(location)}

    @property
    def max_length(self) -> int:
        """Context length: ``options.max_length``, else the model's, else 4096."""
        return self.options.max_length or self.loaded.max_length or 4096


def render_chat(
    tokenizer: Any, messages: Sequence[Mapping[str, Any]], *, plain_suffix: str, thinking: bool = True
) -> str:
    """Prompt text for chat ``messages``.

    With a chat template: the template with the generation prompt; a template that rejects
    the system role gets the system text prepended to the first user message. Without one:
    the messages' contents separated by blank lines, then ``plain_suffix``.

    Args:
        thinking: ``False`` passes ``enable_thinking=False`` to the template, so that a
            reasoning model's template (Qwen3) closes its thinking block and the answer comes
            first; templates that do not know the variable ignore it.
    """
    if getattr(tokenizer, "chat_template", None):
        msgs = [dict(m) for m in messages]
        extra = {} if thinking else {"enable_thinking": False}
        try:
            return str(tokenizer.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True, **extra))
        except Exception:  # noqa: BLE001 - e.g. "System role not supported" from a Jinja template
            if not msgs or msgs[0].get("role") != "system" or len(msgs) < 2:
                raise
            system = msgs.pop(0)
            msgs[0] = {**msgs[0], "content": f"{system['content']}\n\n{msgs[0].get('content', '')}"}
            return str(tokenizer.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True, **extra))
    parts = [str(m.get("content", "")) for m in messages]
    return "\n\n".join(parts) + plain_suffix


def encode_prompt(tokenizer: Any, text: str) -> list[int]:
    """Ids of a rendered prompt: BOS added for plain prompts, chat templates write their own."""
    ids = list(tokenizer.encode(text, add_special_tokens=False))
    bos = tokenizer.bos_token_id
    if not getattr(tokenizer, "chat_template", None) and isinstance(bos, int):
        ids.insert(0, bos)
    return ids
