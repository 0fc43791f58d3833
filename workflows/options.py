"""Typed activity options: one frozen value per kind of call, and `run` to start an activity with them.

`DB.run(ScanActivities.route_chunk, ref)` is `workflow.execute_activity_method(..., args=[ref], <DB's options>)`
with the activity's parameters and result checked by mypy: `run`'s overloads tie each argument to the
activity's own parameter (up to four), which a spread `**dict` of options or an untyped `args=[...]` cannot.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar, overload

from temporalio import workflow
from temporalio.common import RetryPolicy

R = TypeVar("R")
A = TypeVar("A")
B = TypeVar("B")
C = TypeVar("C")
D = TypeVar("D")


@dataclass(frozen=True)
class ActivityOptions:
    start_to_close_timeout: timedelta
    retry_policy: RetryPolicy
    heartbeat_timeout: timedelta | None = None
    schedule_to_close_timeout: timedelta | None = None  # bounds all attempts: an outage ridden out, then given up
    task_queue: str | None = None  # None: the workflow's own queue

    @overload
    def run(
        self,
        activity: Callable[[Any], Awaitable[R]],
        /,
        *,
        task_queue: str | None = None,
        summary: str | None = None,
    ) -> Coroutine[Any, Any, R]: ...

    @overload
    def run(
        self,
        activity: Callable[[Any, A], Awaitable[R]],
        a: A,
        /,
        *,
        task_queue: str | None = None,
        summary: str | None = None,
    ) -> Coroutine[Any, Any, R]: ...

    @overload
    def run(
        self,
        activity: Callable[[Any, A, B], Awaitable[R]],
        a: A,
        b: B,
        /,
        *,
        task_queue: str | None = None,
        summary: str | None = None,
    ) -> Coroutine[Any, Any, R]: ...

    @overload
    def run(
        self,
        activity: Callable[[Any, A, B, C], Awaitable[R]],
        a: A,
        b: B,
        c: C,
        /,
        *,
        task_queue: str | None = None,
        summary: str | None = None,
    ) -> Coroutine[Any, Any, R]: ...

    @overload
    def run(
        self,
        activity: Callable[[Any, A, B, C, D], Awaitable[R]],
        a: A,
        b: B,
        c: C,
        d: D,
        /,
        *,
        task_queue: str | None = None,
        summary: str | None = None,
    ) -> Coroutine[Any, Any, R]: ...

    def run(
        self,
        activity: Callable[..., Awaitable[Any]],
        /,
        *args: Any,
        task_queue: str | None = None,
        summary: str | None = None,
    ) -> Coroutine[Any, Any, Any]:
        """The coroutine of the activity's execution (await it, or gather it with others)."""
        return workflow.execute_activity_method(
            activity,
            args=list(args),
            task_queue=task_queue or self.task_queue,
            start_to_close_timeout=self.start_to_close_timeout,
            schedule_to_close_timeout=self.schedule_to_close_timeout,
            heartbeat_timeout=self.heartbeat_timeout,
            retry_policy=self.retry_policy,
            summary=summary,
        )
