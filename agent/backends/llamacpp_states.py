"""Saved llama.cpp context states, so interleaved conversations keep their KV cache.

llama.cpp (through llama-cpp-python) holds one sequence: it re-uses the KV cache only for the prefix
the new prompt shares with the *last* one. When several trajectories take turns on one engine
(``--concurrency 4``), every turn of a multi-turn tool loop would re-process its whole prompt (up to
thousands of tokens on a CPU). :class:`StateCache` keeps the context state (the KV cells, a few MB to
tens of MB) after each generation, keyed by the tokens it holds, and restores the one sharing the
longest prefix with the next prompt when that beats what the engine already has.

A state superseded by a longer one of the same conversation is dropped, so the cache holds about one
state per conversation in flight; the least recently used go first past ``capacity_bytes``.
"""

from __future__ import annotations

import ctypes
import logging
from collections import OrderedDict
from collections.abc import Sequence

__all__ = ["StateCache"]

logger = logging.getLogger(__name__)


class StateCache:
    """LRU of llama.cpp context states keyed by the tokens they hold.

    Args:
        capacity_bytes: Memory for saved states; 0 turns the cache off.
        min_gain: Restore only when it saves at least this many prompt tokens (a restore copies the
            whole state, which costs about as much as evaluating a few tokens).
    """

    def __init__(self, capacity_bytes: int, *, min_gain: int = 16):
        self.capacity_bytes = capacity_bytes
        self.min_gain = min_gain
        self._states: OrderedDict[tuple[int, ...], bytes] = OrderedDict()  # tokens -> state
        self.restores = 0
        self.restored_tokens = 0

    @property
    def enabled(self) -> bool:
        return self.capacity_bytes > 0

    @property
    def size_bytes(self) -> int:
        return sum(len(data) for data in self._states.values())

    def __len__(self) -> int:
        return len(self._states)

    def clear(self) -> None:
        self._states.clear()

    def save(self, llm) -> None:
        """Keep the state of ``llm`` (a ``llama_cpp.Llama``), keyed by the tokens it has evaluated."""
        if not self.enabled or llm.n_tokens == 0:
            return
        import llama_cpp

        tokens = tuple(int(t) for t in llm.input_ids[: llm.n_tokens])
        size = llama_cpp.llama_state_get_size(llm._ctx.ctx)
        buf = (ctypes.c_uint8 * size)()
        n = llama_cpp.llama_state_get_data(llm._ctx.ctx, buf, size)
        if n <= 0 or n > size or n > self.capacity_bytes:
            return
        # an earlier turn of the same conversation (a prefix of this one) is superseded
        for key in [k for k in self._states if len(k) <= len(tokens) and tokens[: len(k)] == k]:
            del self._states[key]
        self._states[tokens] = ctypes.string_at(buf, n)
        while self.size_bytes > self.capacity_bytes and self._states:
            self._states.popitem(last=False)

    def restore(self, llm, prompt: Sequence[int]) -> int:
        """Load the saved state sharing the longest prefix with ``prompt`` into ``llm`` when it saves
        at least ``min_gain`` tokens over what ``llm`` holds; returns the tokens it saved (0 if none)."""
        if not self._states:
            return 0
        from llama_cpp import Llama, llama_state_set_data

        have = Llama.longest_token_prefix(llm.input_ids[: llm.n_tokens], prompt)
        best, best_len = None, have
        for tokens in self._states:
            n = Llama.longest_token_prefix(tokens, prompt)
            if n > best_len:
                best, best_len = tokens, n
        if best is None or best_len - have < self.min_gain:
            return 0
        data = self._states[best]
        buf = (ctypes.c_uint8 * len(data)).from_buffer_copy(data)
        if llama_state_set_data(llm._ctx.ctx, buf, len(data)) != len(data):
            logger.warning("could not restore a saved llama.cpp state; the prompt is evaluated again")
            del self._states[best]
            llm.n_tokens = 0
            return 0
        llm.input_ids[: len(best)] = best
        llm.n_tokens = len(best)
        llm._requires_eval = True  # the restored logits are not a live decode's: generate() replays one token
        self._states.move_to_end(best)
        self.restores += 1
        self.restored_tokens += best_len - have
        return best_len - have
