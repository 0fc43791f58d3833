"""Several async streams read side by side as one: what lets a vendor list cut into windows be read concurrently."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from typing import TypeVar

T = TypeVar("T")
V = TypeVar("V")
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


async def side_by_side(
    read: Callable[[dict[str, dict[str, str]]], dict[str, V]],
    links: dict[str, dict[str, str]],
    link: str,
    parts: int,
) -> dict[str, V]:
    """A blocking whole-tenant read (an SDK's, in a thread) as `parts` reads at once, each over its share of the
    customers; the customers of one CRM record stay in one share, so no record is asked for twice. The pace each
    request waits for is shared, so this only stops the reads from waiting on one another's round trips."""
    by_record: dict[str, list[str]] = {}
    for cid, ls in links.items():
        by_record.setdefault(str(ls.get(link) or ""), []).append(cid)
    records = sorted(by_record)
    shares = [records[i::parts] for i in range(max(1, parts)) if records[i::parts]]
    results = await asyncio.gather(
        *(asyncio.to_thread(read, {cid: links[cid] for r in share for cid in by_record[r]}) for share in shares)
    )
    return {k: v for r in results for k, v in r.items()}
