"""Many concurrent calls from one pooled AsyncClient, as a rollout worker makes them.

python examples/async_batch.py
"""

from __future__ import annotations

import asyncio

import simweb

QUERIES = ["Albedo", "Ray Charles", "Anarchism", "Aristotle", "Academy Awards"]


async def main() -> None:
    async with simweb.AsyncClient() as client:
        results = await asyncio.gather(*(client.search(q, top_k=1) for q in QUERIES))
        for query, result in zip(QUERIES, results):
            print(f"{query!r}: {result.text.splitlines()[-1][:100]}")
        passages = await client.retrieve(QUERIES, topk=2)
        print([p[0].title for p in passages if p])


if __name__ == "__main__":
    asyncio.run(main())
