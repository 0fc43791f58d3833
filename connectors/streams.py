"""Several async streams read side by side as one: what lets a vendor list cut into windows be read concurrently."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import TypeVar

T = TypeVar("T")
_END = object()


async def merged(streams: Sequence[AsyncIterator[T]], ahead: int = 4) -> AsyncIterator[T]:
    """Items of every stream as they come. Each stream runs at most `ahead` items ahead of the reader, so a slow
    consumer slows the reads instead of holding a whole list in memory. The first stream to fail ends the merge with
    its error, and the others are cancelled (as they are when the reader stops early)."""
    queue: asyncio.Queue[object] = asyncio.Queue(maxsize=max(1, ahead) * max(1, len(streams)))

    async def pump(stream: AsyncIterator[T]) -> None:
        try:
            async for item in stream:
                await queue.put(item)
        except Exception as e:  # handed to the reader; a cancellation (the reader is gone) is not
            await queue.put(_Failed(e))
            return
        await queue.put(_END)

    tasks = [asyncio.ensure_future(pump(s)) for s in streams]
    try:
        running = len(tasks)
        while running:
            item = await queue.get()
            if item is _END:
                running -= 1
            elif isinstance(item, _Failed):
                raise item.error
            else:
                yield item  # type: ignore[misc]
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


class _Failed:
    def __init__(self, error: Exception) -> None:
        self.error = error
