"""How a node releases a protocol's outputs: the one place the node gets `JobContext.release` from.

`release_function(session, output_to)` returns the coroutine function protocols call as
`await ctx.release(x, spec)`. Today it opens the secret array `x` to the output parties
(`session.open(x, to=output_to)`), returning the value there and None elsewhere; `spec`
(`mpc.protocols.ReleaseSpec`) carries the sensitivity the differential-privacy layer uses
when it replaces this function with a noising one.
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable


def release_function(session, output_to: tuple[int, ...]) -> Callable[..., Awaitable[Any]]:
    """A plain open of each released array to `output_to` (no noise)."""

    async def release(x, spec=None):
        return await session.open(x, to=list(output_to))

    return release
